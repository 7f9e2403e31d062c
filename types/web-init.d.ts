
/* --target web only (appended by `make build-web`). */
/** Instantiates the module; await it before `new Detector()`. */
export default function init(module_or_path?: unknown): Promise<unknown>;
