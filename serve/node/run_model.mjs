#!/usr/bin/env node
// Inference with a graphc-exported ONNX model and nothing but onnxruntime-node.
//
//   node run_model.mjs MODEL.onnx INPUTS.json OUTPUTS.json
//
// INPUTS.json maps every model input to a tensor {"dims": [...], "data": [...flat...]}
// (dynamic sizes, e.g. batch and time of an LSTM, are whatever `dims` says). The script runs
// one session on the CPU and writes {"<output name>": {"dims", "dtype", "data"}} to OUTPUTS.json.
// Errors (missing file, unknown or missing input, wrong shape) print "error: ..." and exit 1.

import { checkFeeds, fromTensor, inputTypes, openSession, readJson, runMain, runSession, toTensor, UsageError, writeJson } from "./common.mjs";

const USAGE = "usage: node run_model.mjs MODEL.onnx INPUTS.json OUTPUTS.json";

runMain(async (args) => {
  if (args.length !== 3) throw new UsageError(USAGE);
  const [modelPath, inputsPath, outputsPath] = args;
  const inputs = readJson(inputsPath, "inputs file");
  const session = await openSession(modelPath);
  checkFeeds(session, inputs);
  const types = inputTypes(session);
  const feeds = Object.fromEntries(Object.entries(inputs).map(([name, value]) => [name, toTensor(name, value, types[name])]));
  const results = await runSession(session, feeds);
  const outputs = Object.fromEntries(session.outputNames.map((name) => [name, fromTensor(results[name])]));
  writeJson(outputsPath, outputs);
});
