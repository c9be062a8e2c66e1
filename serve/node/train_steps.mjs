#!/usr/bin/env node
// Training with a graphc training-step model (graphc.export.save_training) and nothing but
// onnxruntime-node.
//
//   node train_steps.mjs MODEL.onnx STATE.json DATA.json OUT.json [--steps K]
//
// The model's inputs are the data inputs, then the state `N` (parameters, optimizer state);
// its outputs are the requested outputs (e.g. `cost`), then `N.next` for every updated `N`.
// STATE.json is the initial state, {"N": {"dims", "data", "dtype"}} for every state input
// (what save_training writes as .state.npz, as JSON). DATA.json is a list of batches, one
// {"<data input>": tensor} per step (step i uses batch i mod the count), or a single batch.
// K (default: the number of batches) steps run, each feeding every `N.next` back as `N`.
// OUT.json gets {"steps": K, "outputs": {name: [one value per step]}, "costs": [...] (the
// `cost` output, when there is one), "state": {final state}}. Scalars are written as numbers.

import { checkFeeds, fromTensor, inputTypes, openSession, readJson, runMain, runSession, toTensor, UsageError, writeJson } from "./common.mjs";

const USAGE = "usage: node train_steps.mjs MODEL.onnx STATE.json DATA.json OUT.json [--steps K]";

function parseArgs(args) {
  const positional = [];
  let steps;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--steps") {
      steps = Number(args[++i]);
      if (!Number.isInteger(steps) || steps < 1) throw new UsageError(`--steps needs a positive integer\n${USAGE}`);
    } else {
      positional.push(args[i]);
    }
  }
  if (positional.length !== 4) throw new UsageError(USAGE);
  return { paths: positional, steps };
}

runMain(async (args) => {
  const { paths: [modelPath, statePath, dataPath, outPath], steps: stepsArg } = parseArgs(args);
  const stateJson = readJson(statePath, "state file");
  const dataJson = readJson(dataPath, "data file");
  const session = await openSession(modelPath);
  const types = inputTypes(session);

  // the contract: every output `N.next` is the new value of the state input `N`
  const nextOf = Object.fromEntries(session.outputNames.filter((o) => o.endsWith(".next")).map((o) => [o.slice(0, -5), o]));
  const requested = session.outputNames.filter((o) => !o.endsWith(".next"));
  if (Object.keys(nextOf).length === 0) {
    throw new UsageError(`${modelPath} has no 'N.next' outputs: not a training step (graphc.export.save_training)`);
  }
  for (const name of Object.keys(nextOf)) {
    if (!(name in stateJson)) throw new UsageError(`the state file has no '${name}' (the model updates it as '${name}.next')`);
  }
  let state = {};
  for (const [name, value] of Object.entries(stateJson)) {
    if (!session.inputNames.includes(name)) {
      throw new UsageError(`state '${name}' is not an input of the model; its inputs are: ${session.inputNames.join(", ")}`);
    }
    state[name] = toTensor(name, value, types[name]);
  }

  const batchesJson = Array.isArray(dataJson) ? dataJson : [dataJson];
  if (batchesJson.length === 0) throw new UsageError("the data file holds no batch");
  const batches = batchesJson.map((batch, i) => {
    const clash = Object.keys(batch).filter((n) => n in state);
    if (clash.length) throw new UsageError(`batch ${i} feeds state input(s) ${clash.join(", ")}; give them in the state file`);
    checkFeeds(session, { ...batch, ...state });
    return Object.fromEntries(Object.entries(batch).map(([n, v]) => [n, toTensor(n, v, types[n])]));
  });

  const steps = stepsArg ?? batches.length;
  const outputs = Object.fromEntries(requested.map((name) => [name, []]));
  for (let step = 0; step < steps; step++) {
    const results = await runSession(session, { ...batches[step % batches.length], ...state });
    for (const name of requested) {
      const value = fromTensor(results[name]);
      outputs[name].push(value.dims.length === 0 ? value.data[0] : value);
    }
    state = { ...state, ...Object.fromEntries(Object.entries(nextOf).map(([n, o]) => [n, results[o]])) };
  }

  const report = { steps, outputs };
  if ("cost" in outputs) report.costs = outputs.cost;
  report.state = Object.fromEntries(Object.entries(state).map(([n, t]) => [n, fromTensor(t)]));
  writeJson(outPath, report);
});
