// The official Node SDK against a server's Assistants API: the Python SDK tests'
// flows (tests/test_openai_sdk.py), driven as the Node SDK's docs show. Run by
// tests/test_node_sdk.py with CHECK_BASE_URL and CHECK_API_KEY; the server answers a
// run with a get_weather call, then "In Paris it is {outputs}.". Prints "ok NAME" per
// check; the first failure ends the run with a non-zero exit and the assertion.
import assert from "node:assert/strict";
import OpenAI from "openai";

const client = new OpenAI({
  apiKey: process.env.CHECK_API_KEY,
  baseURL: process.env.CHECK_BASE_URL,
  maxRetries: 0,
});
const poll = { pollIntervalMs: 10 };
const weather = {
  type: "function",
  function: { name: "get_weather", parameters: { type: "object" } },
};

async function wholeFlow() {
  const asst = await client.beta.assistants.create({
    model: "gpt-4o",
    name: "Weather",
    tools: [weather],
  });
  const thread = await client.beta.threads.create({
    messages: [{ role: "user", content: "What is the weather in Paris?" }],
  });
  let run = await client.beta.threads.runs.createAndPoll(
    thread.id,
    { assistant_id: asst.id },
    poll,
  );
  assert.equal(run.status, "requires_action");
  const [call] = run.required_action.submit_tool_outputs.tool_calls;
  assert.equal(call.function.name, "get_weather");
  assert.deepEqual(JSON.parse(call.function.arguments), { city: "Paris" });
  run = await client.beta.threads.runs.submitToolOutputsAndPoll(
    run.id,
    { thread_id: thread.id, tool_outputs: [{ tool_call_id: call.id, output: "21C and sunny" }] },
    poll,
  );
  assert.equal(run.status, "completed");
  assert.ok(run.usage);
  const steps = [];
  for await (const step of client.beta.threads.runs.steps.list(run.id, {
    thread_id: thread.id,
    order: "asc",
  })) {
    steps.push(step.type);
  }
  assert.deepEqual(steps, ["tool_calls", "message_creation"]);
  const messages = [];
  for await (const message of client.beta.threads.messages.list(thread.id, { order: "asc" })) {
    messages.push(message);
  }
  assert.deepEqual(
    messages.map((m) => m.role),
    ["user", "assistant"],
  );
  const answer = messages[1].content[0];
  assert.equal(answer.type, "text");
  assert.equal(answer.text.value, "In Paris it is 21C and sunny.");
  const deleted = await client.beta.assistants.delete(asst.id);
  assert.equal(deleted.deleted, true);
}

async function pagesBothWays() {
  const thread = await client.beta.threads.create();
  const created = [];
  for (let i = 0; i < 150; i++) {
    const message = await client.beta.threads.messages.create(thread.id, {
      role: "user",
      content: `message ${i}`,
    });
    created.push(message.id);
  }
  // Forward, the SDK following after=<last id> by itself.
  const forward = [];
  for await (const m of client.beta.threads.messages.list(thread.id, { order: "asc", limit: 20 })) {
    forward.push(m.id);
  }
  assert.deepEqual(forward, created);
  const newestFirst = [];
  for await (const m of client.beta.threads.messages.list(thread.id, { limit: 100 })) {
    newestFirst.push(m.id);
  }
  assert.deepEqual(newestFirst, [...created].reverse());
  // Backward, page by page with before=<first id of the previous page>.
  let backward = [];
  let cursor = created[created.length - 1];
  for (;;) {
    const page = await client.beta.threads.messages.list(thread.id, {
      order: "asc",
      limit: 20,
      before: cursor,
    });
    backward = [...page.data.map((m) => m.id), ...backward];
    if (!page.has_more) break;
    cursor = page.data[0].id;
  }
  assert.deepEqual(backward, created.slice(0, -1));
}

async function toolCallDeltas() {
  const asst = await client.beta.assistants.create({ model: "gpt-4o", tools: [weather] });
  const thread = await client.beta.threads.create({
    messages: [{ role: "user", content: "Paris?" }],
  });
  const pieces = [];
  const snapshots = [];
  const stream = client.beta.threads.runs
    .stream(thread.id, { assistant_id: asst.id })
    .on("toolCallDelta", (delta, snapshot) => {
      if (delta.type === "function" && delta.function?.arguments) {
        pieces.push(delta.function.arguments);
        snapshots.push(snapshot.function.arguments);
      }
    });
  const run = await stream.finalRun();
  assert.equal(run.status, "requires_action");
  assert.ok(pieces.length > 1, "the arguments came in several deltas");
  assert.deepEqual(JSON.parse(pieces.join("")), { city: "Paris" });
  assert.equal(snapshots[snapshots.length - 1], pieces.join(""));
}

async function errors() {
  await assert.rejects(
    client.beta.assistants.retrieve("asst_missing"),
    (err) => err instanceof OpenAI.NotFoundError && err.status === 404,
  );
  await assert.rejects(
    client.beta.assistants.create({ model: "gpt-4o", temperature: 5 }),
    (err) => err instanceof OpenAI.BadRequestError && err.status === 400,
  );
}

for (const check of [wholeFlow, pagesBothWays, toolCallDeltas, errors]) {
  await check();
  console.log(`ok ${check.name}`);
}
