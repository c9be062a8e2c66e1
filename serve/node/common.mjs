// Shared helpers for run_model.mjs and train_steps.mjs: JSON <-> onnxruntime-node tensors,
// file checks, and one way to fail (a message on stderr and a non-zero exit).
//
// A tensor in JSON is {"dims": [2, 3], "data": [1, 2, 3, 4, 5, 6], "dtype": "float32"}:
// `data` is flat, in row-major (C) order; `dtype` is optional on input (the model's declared
// type is used) and always written on output. A scalar has "dims": [] and a one-element `data`.

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import ort from "onnxruntime-node";

export { ort };

/** An error meant for the user: printed without a stack trace. */
export class UsageError extends Error {}

const ARRAYS = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  bool: Uint8Array,
};

/** Run `main` and turn any failure into "error: ..." on stderr and exit status 1. */
export async function runMain(main) {
  try {
    await main(process.argv.slice(2));
  } catch (err) {
    const message = err instanceof UsageError ? err.message : err?.stack ?? String(err);
    process.stderr.write(`error: ${message}\n`);
    process.exit(1);
  }
}

/** Read and parse a JSON file, with messages that name the file. */
export function readJson(path, what) {
  if (!existsSync(path)) throw new UsageError(`${what} not found: ${path}`);
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new UsageError(`${what} ${path} is not valid JSON: ${err.message}`);
  }
}

export function writeJson(path, value) {
  writeFileSync(path, JSON.stringify(value) + "\n");
}

/** Open an ONNX model on the CPU; a missing or unreadable file is a UsageError. */
export async function openSession(path) {
  if (!existsSync(path)) throw new UsageError(`model not found: ${path}`);
  try {
    return await ort.InferenceSession.create(path, { executionProviders: ["cpu"] });
  } catch (err) {
    throw new UsageError(`cannot load model ${path}: ${err.message}`);
  }
}

/** The declared element type of every session input, e.g. {"x": "float32"}. */
export function inputTypes(session) {
  const types = {};
  for (const meta of session.inputMetadata ?? []) types[meta.name] = meta.type;
  return types;
}

/** A JSON tensor {dims, data, dtype?} as an ort.Tensor of `modelType` (the model's declared type). */
export function toTensor(name, value, modelType) {
  if (value === null || typeof value !== "object" || !Array.isArray(value.dims)) {
    throw new UsageError(`input '${name}' must be {"dims": [...], "data": [...]}`);
  }
  const dtype = modelType ?? value.dtype ?? "float32";
  if (value.dtype !== undefined && modelType !== undefined && value.dtype !== modelType) {
    throw new UsageError(`input '${name}' has dtype ${value.dtype}, the model expects ${modelType}`);
  }
  const Ctor = ARRAYS[dtype];
  if (!Ctor) throw new UsageError(`input '${name}': unsupported dtype ${dtype}`);
  const flat = Array.isArray(value.data) ? value.data.flat(Infinity) : [value.data];
  const size = value.dims.reduce((a, b) => a * b, 1);
  if (flat.length !== size) {
    throw new UsageError(`input '${name}': dims [${value.dims}] need ${size} values, data has ${flat.length}`);
  }
  const convert = Ctor === BigInt64Array || Ctor === BigUint64Array ? (v) => BigInt(v) : (v) => Number(v);
  return new ort.Tensor(dtype, Ctor.from(flat, convert), value.dims);
}

/** An ort.Tensor as JSON {dims, dtype, data}; 64-bit integers become numbers (exact below 2**53). */
export function fromTensor(tensor) {
  let data = Array.from(tensor.data, (v) => (typeof v === "bigint" ? Number(v) : v));
  if (tensor.type === "bool") data = data.map(Boolean);
  return { dims: Array.from(tensor.dims), dtype: tensor.type, data };
}

/** Check that `feeds` has exactly the session's inputs; the message lists what the model wants. */
export function checkFeeds(session, feeds) {
  const expected = session.inputNames;
  const unknown = Object.keys(feeds).filter((n) => !expected.includes(n));
  if (unknown.length) {
    throw new UsageError(`unknown input(s) ${unknown.join(", ")}; the model's inputs are: ${expected.join(", ")}`);
  }
  const missing = expected.filter((n) => !(n in feeds));
  if (missing.length) throw new UsageError(`missing input(s): ${missing.join(", ")}`);
}

/** session.run with ONNX Runtime's own message (wrong rank, wrong size...) as a UsageError. */
export async function runSession(session, feeds) {
  try {
    return await session.run(feeds);
  } catch (err) {
    throw new UsageError(`ONNX Runtime refused the inputs: ${err.message}`);
  }
}
