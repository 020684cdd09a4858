// The official openai SDK against `sotto proxy`: one scenario per run,
// named by the first argument. cmd/sotto/proxy_openai_test.go starts the
// Sotto server(s) and the proxy, and runs each scenario with
// SOTTO_PROXY_URL (the proxy's base URL, ending in /v1) and
// SOTTO_METRICS_URL (the server's /metrics). A scenario that fails throws;
// one that passes prints "ok <name>" and what it measured.
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const client = new OpenAI({
  baseURL: process.env.SOTTO_PROXY_URL,
  apiKey: process.env.SOTTO_PROXY_API_KEY || 'unused-on-loopback',
  maxRetries: 0, // the scenarios check the errors themselves
  timeout: 60_000,
});

const prompt = 'Once upon a time, Lily found a red ball in the garden';
const greedy = { model: 'sotto', temperature: 0, seed: 1 };

// metrics reads the unlabelled sotto_* samples of the server's /metrics.
async function metrics() {
  const text = await (await fetch(process.env.SOTTO_METRICS_URL)).text();
  const out = {};
  for (const m of text.matchAll(/^(sotto_[a-z_]+) ([0-9.e+-]+)$/gm)) out[m[1]] = Number(m[2]);
  return out;
}

async function waitFor(what, cond) {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

// expectError runs fn and checks it throws the SDK's typed error.
async function expectError(fn, type, check) {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof type, `got ${err?.constructor?.name}: ${err?.message}`);
    check(err);
    return;
  }
  assert.fail(`no ${type.name}`);
}

// streamed collects a streamed reply: text, finish reason, usage, and the
// time from the request to the first text (ms).
async function streamed(params) {
  const start = performance.now();
  const stream = await client.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } });
  let text = '', finish = null, usage = null, ttft = null;
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    if (chunk.usage) usage = chunk.usage;
    const c = chunk.choices[0];
    if (!c) continue;
    if (c.delta.content) {
      ttft ??= performance.now() - start;
      text += c.delta.content;
    }
    if (c.finish_reason) finish = c.finish_reason;
  }
  return { text, finish, usage, ttft };
}

const scenarios = {
  // Non-streamed and streamed completions of one greedy request agree;
  // usage adds up; the model list names the server's one model.
  async completions() {
    const models = await client.models.list();
    assert.deepEqual(models.data.map((m) => m.id), ['sotto']);
    const params = { ...greedy, messages: [{ role: 'user', content: prompt }], max_tokens: 24 };
    const r = await client.chat.completions.create(params);
    assert.equal(r.object, 'chat.completion');
    assert.equal(r.choices.length, 1);
    assert.equal(r.choices[0].finish_reason, 'length');
    const text = r.choices[0].message.content;
    assert.ok(text.length >= 16, `reply ${JSON.stringify(text)}`);
    assert.equal(r.usage.completion_tokens, 24);
    assert.ok(r.usage.prompt_tokens >= 10);
    assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + 24);
    const s = await streamed(params);
    assert.equal(s.text, text);
    assert.equal(s.finish, 'length');
    assert.deepEqual(s.usage, r.usage);
  },

  // A stop sequence ends the reply before it, with finish reason stop.
  async stop() {
    const params = { ...greedy, messages: [{ role: 'user', content: prompt }], max_tokens: 24 };
    const full = (await client.chat.completions.create(params)).choices[0].message.content;
    const stop = full.slice(10, 14);
    const want = full.slice(0, full.indexOf(stop));
    const r = await client.chat.completions.create({ ...params, stop: [stop] });
    assert.equal(r.choices[0].message.content, want);
    assert.equal(r.choices[0].finish_reason, 'stop');
    const s = await streamed({ ...params, stop });
    assert.equal(s.text, want);
    assert.equal(s.finish, 'stop');
  },

  // Aborting a stream frees the server's slot well before max_tokens.
  async abort() {
    const before = (await metrics()).sotto_generated_tokens_total ?? 0;
    const maxTokens = 1500;
    const stream = await client.chat.completions.create({
      ...greedy, messages: [{ role: 'user', content: prompt }], max_tokens: maxTokens, stream: true,
    });
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta?.content) break; // leaving the loop aborts the request
    }
    await waitFor('the slot freed', async () => {
      const m = await metrics();
      return m.sotto_busy_slots === 0 && m.sotto_active_streams === 0;
    });
    const generated = (await metrics()).sotto_generated_tokens_total - before;
    assert.ok(generated < maxTokens / 2, `the server generated ${generated} tokens after the abort`);
  },

  // Turn 2, the whole conversation resent, reuses turn 1's prompt on the
  // server: its cached-token counter moves by at least turn 1's prompt.
  async cache() {
    const turn1 = [{ role: 'system', content: 'You tell short stories.' }, { role: 'user', content: prompt }];
    const first = await streamed({ ...greedy, messages: turn1, max_tokens: 16 });
    const cached = (await metrics()).sotto_prompt_tokens_cached_total;
    const turn2 = [...turn1, { role: 'assistant', content: first.text }, { role: 'user', content: 'Then the dog came' }];
    const second = await streamed({ ...greedy, messages: turn2, max_tokens: 8 });
    const reused = (await metrics()).sotto_prompt_tokens_cached_total - cached;
    assert.ok(reused >= first.usage.prompt_tokens - 1, `turn 2 reused ${reused} prompt tokens, turn 1 had ${first.usage.prompt_tokens}`);
    console.log(JSON.stringify({ turn1_prompt_tokens: first.usage.prompt_tokens, turn1_ttft_ms: first.ttft,
      turn2_prompt_tokens: second.usage.prompt_tokens, turn2_reused_tokens: reused, turn2_ttft_ms: second.ttft }));
  },

  // Bad parameters are BadRequestErrors naming the parameter, whether the
  // proxy (n) or the server (temperature) refuses them.
  async badparams() {
    const messages = [{ role: 'user', content: prompt }];
    await expectError(() => client.chat.completions.create({ model: 'sotto', messages, n: 2 }), OpenAI.BadRequestError, (e) => {
      assert.equal(e.status, 400);
      assert.equal(e.param, 'n');
      assert.equal(e.code, 'unsupported_parameter');
      assert.ok(!e.message.includes('Lily'));
    });
    await expectError(() => client.chat.completions.create({ model: 'sotto', messages, temperature: 5, stream: true }),
      OpenAI.BadRequestError, (e) => {
        assert.equal(e.param, 'temperature');
        assert.equal(e.type, 'invalid_request_error');
      });
    await expectError(() => client.chat.completions.create({ model: 'sotto', messages: [{ role: 'user',
      content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] }] }), OpenAI.BadRequestError,
    (e) => assert.equal(e.param, 'messages[0].content'));
  },

  // A server's rate limit is a RateLimitError with retry-after.
  async ratelimited() {
    const params = { model: 'sotto', messages: [{ role: 'user', content: prompt }], max_tokens: 4 };
    for (let i = 0; i < 10; i++) {
      try {
        await client.chat.completions.create(params);
      } catch (e) {
        assert.ok(e instanceof OpenAI.RateLimitError, `got ${e?.constructor?.name}: ${e?.message}`);
        assert.equal(e.status, 429);
        assert.ok(Number(e.headers.get('retry-after')) >= 1, `retry-after ${e.headers.get('retry-after')}`);
        assert.equal(e.code, 'rate_limit_exceeded');
        return;
      }
    }
    assert.fail('10 requests passed a limit of 1 a minute');
  },

  // With an API key set, a tool with another key gets an
  // AuthenticationError; with the key, it is served.
  async auth() {
    const stranger = new OpenAI({ baseURL: process.env.SOTTO_PROXY_URL, apiKey: 'not-the-key', maxRetries: 0 });
    await expectError(() => stranger.chat.completions.create({ model: 'sotto', messages: [{ role: 'user', content: prompt }] }),
      OpenAI.AuthenticationError, (e) => {
        assert.equal(e.status, 401);
        assert.equal(e.code, 'invalid_api_key');
      });
    const r = await client.chat.completions.create({ ...greedy, messages: [{ role: 'user', content: prompt }], max_tokens: 4 });
    assert.equal(r.usage.completion_tokens, 4);
  },

  // A server that is down is an InternalServerError (502).
  async down() {
    await expectError(() => client.chat.completions.create({ model: 'sotto', messages: [{ role: 'user', content: prompt }] }),
      OpenAI.InternalServerError, (e) => {
        assert.equal(e.status, 502);
        assert.equal(e.code, 'sotto_server_unreachable');
      });
  },
};

const name = process.argv[2];
if (!scenarios[name]) {
  console.error(`unknown scenario ${name}; known: ${Object.keys(scenarios).join(', ')}`);
  process.exit(2);
}
await scenarios[name]();
console.log(`ok ${name}`);
