// Types of libswin's Node binding (index.js).

/** The outputs of a pass, by name, with their swin_output numbers. */
export declare const OUTPUTS: Readonly<{logits: 0; features: 1; stage: 2; pooler: 3; tokens: 4}>;
export type OutputName = keyof typeof OUTPUTS;

/** A failure of libswin, or a call on a closed model. */
export declare class SwinError extends Error {
    /** The swin_status number (1 = SWIN_ERR_INVALID_ARGUMENT, 3 = SWIN_ERR_IO, ...). */
    readonly status: number;
    /** Its name, e.g. "SWIN_ERR_IO"; the message starts with it. */
    readonly statusName: string;
}

/** A tensor copied out of libswin: row-major float32 data of the given shape. */
export interface TensorResult {
    shape: number[];
    data: Float32Array;
}

export interface Prediction {
    index: number;
    /** The model's label for the class, or "class N" when it has none. */
    label: string;
    prob: number;
}

export interface ClassifyResult {
    path: string;
    /** The most probable classes, best first; [] when the image could not be read. */
    top: Prediction[];
    /** Why the image could not be read (a SwinError's message), else null. */
    error: string | null;
}

export interface RunOptions {
    /** Which output (default "logits"): a name of OUTPUTS or its number. */
    output?: OutputName | number;
    /** The stage for output "stage". */
    index?: number | bigint;
}

export declare class Model {
    /** Loads a .safetensors file or a hub folder off the event loop; opts are swin_options_set's key/value pairs. */
    static load(path: string, opts?: Record<string, string | number | boolean>): Promise<Model>;
    readonly path: string;
    readonly numClasses: number;
    /** S of the model's [B, 3, S, S] input. */
    readonly inputSize: number;
    /** True once close() was called. */
    readonly closed: boolean;
    /** A value of the model's resolved configuration (swin_model_get), or null. */
    get(key: string): string | null;
    /** The label of a class, or null. */
    label(index: number | bigint): string | null;
    /** Runs a float32 NCHW batch; resolves to a copy of the output (logits by default). */
    run(input: Float32Array, shape: ArrayLike<number | bigint>, opts?: RunOptions): Promise<TensorResult>;
    /** Classifies JPEG/PNG files; one result per path, a bad image gives a result with `error`. */
    classify(paths: string | string[], opts?: {top?: number; batch?: number}): Promise<ClassifyResult[]>;
    /** Pooled features [N, C] of JPEG/PNG files; a bad image rejects with its SwinError. */
    features(paths: string | string[], opts?: {batch?: number}): Promise<TensorResult>;
    /** Refuses new calls, frees the model once the calls in flight are done. Idempotent. */
    close(): Promise<void>;
}

/** libswin's version string, e.g. "0.1.0". */
export declare function version(): string;
