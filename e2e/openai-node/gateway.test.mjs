// Drives the /v1 gateway of a built advanced-backend binary with the
// official OpenAI Node SDK, changed only in its base URL and API key (the
// gateway's JWT). Started by e2e/openai_node_test.go, which runs the binary
// against internal/testllm's in-process fakes and passes:
//   GATEWAY_URL  base URL of the binary (".../v1" is appended here)
//   API_KEY      a JWT the binary accepts
//   REPLY        the text the fake upstreams answer
//   ALPHA_VECTOR JSON array: the fake embedding of "alpha"
//   MODE         "main" (everything below) or "ratelimit" (our limiter's 429)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const env = process.env;
const baseURL = env.GATEWAY_URL + '/v1';
const client = new OpenAI({ apiKey: env.API_KEY, baseURL, maxRetries: 0, timeout: 20000 });
const reply = env.REPLY;
const providers = [
  { name: 'openai', model: 'openai/fake-gpt' },
  { name: 'anthropic', model: 'anthropic/fake-claude' },
];
const messages = [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'weather in Paris' }];
const tools = [{ type: 'function', function: { name: 'lookup', description: 'find things',
  parameters: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] } } }];

async function rejects(promise, cls, check) {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof cls, `want ${cls.name}, got ${err?.constructor?.name}: ${err?.message}`);
    if (check) check(err);
    return err;
  }
  assert.fail(`want ${cls.name}, the call succeeded`);
}

if (env.MODE === 'ratelimit') {
  test('our rate limiter: RateLimitError with Retry-After, OpenAI error shape', async () => {
    let err;
    for (let i = 0; i < 5 && !err; i++) {
      try { await client.models.list(); } catch (e) { err = e; }
    }
    assert.ok(err instanceof OpenAI.RateLimitError, `got ${err}`);
    assert.equal(err.status, 429);
    assert.ok(Number(err.headers.get('retry-after')) >= 1, `retry-after ${err.headers.get('retry-after')}`);
    assert.equal(err.type, 'rate_limit_error');
    assert.equal(err.code, 'rate_limited');
  });
} else {
  for (const p of providers) {
    test(`${p.name}: chat completion`, async () => {
      const c = await client.chat.completions.create({ model: p.model, messages, max_tokens: 100, temperature: 0.2 });
      assert.equal(c.object, 'chat.completion');
      assert.equal(c.choices.length, 1);
      assert.equal(c.choices[0].message.role, 'assistant');
      assert.equal(c.choices[0].message.content, reply);
      assert.equal(c.choices[0].finish_reason, 'stop');
      assert.ok(c.usage.prompt_tokens > 0);
      assert.equal(c.usage.total_tokens, c.usage.prompt_tokens + c.usage.completion_tokens);
    });

    test(`${p.name}: finish_reason length`, async () => {
      const c = await client.chat.completions.create({ model: p.model, messages, max_completion_tokens: 2 });
      assert.equal(c.choices[0].finish_reason, 'length');
    });

    test(`${p.name}: streamed chat with include_usage`, async () => {
      const stream = await client.chat.completions.create({ model: p.model, messages, stream: true, stream_options: { include_usage: true } });
      let text = '', finish = null, usage = null, n = 0;
      for await (const chunk of stream) {
        n++;
        assert.equal(chunk.object, 'chat.completion.chunk');
        if (chunk.usage) usage = chunk.usage;
        for (const ch of chunk.choices) {
          text += ch.delta.content ?? '';
          if (ch.finish_reason) finish = ch.finish_reason;
        }
      }
      assert.equal(text, reply);
      assert.equal(finish, 'stop');
      assert.ok(n >= 3, `${n} chunks`);
      assert.ok(usage && usage.completion_tokens > 0, `usage ${JSON.stringify(usage)}`);
    });

    test(`${p.name}: stream helper (finalChatCompletion)`, async () => {
      const runner = client.chat.completions.stream({ model: p.model, messages });
      const final = await runner.finalChatCompletion();
      assert.equal(final.choices[0].message.content, reply);
    });

    test(`${p.name}: tool call, then the tool's result`, async () => {
      const c = await client.chat.completions.create({ model: p.model, messages, tools, tool_choice: 'auto' });
      const msg = c.choices[0].message;
      assert.equal(c.choices[0].finish_reason, 'tool_calls');
      assert.equal(msg.tool_calls.length, 1);
      assert.equal(msg.tool_calls[0].type, 'function');
      assert.equal(msg.tool_calls[0].function.name, 'lookup');
      assert.deepEqual(JSON.parse(msg.tool_calls[0].function.arguments), { q: 'weather in Paris' });
      const next = await client.chat.completions.create({ model: p.model, tools, messages: [...messages, msg,
        { role: 'tool', tool_call_id: msg.tool_calls[0].id, content: 'sunny' }] });
      assert.equal(next.choices[0].message.content, reply);
    });

    test(`${p.name}: streamed tool call`, async () => {
      const runner = client.chat.completions.stream({ model: p.model, messages, tools });
      const final = await runner.finalChatCompletion();
      assert.equal(final.choices[0].finish_reason, 'tool_calls');
      assert.deepEqual(JSON.parse(final.choices[0].message.tool_calls[0].function.arguments), { q: 'weather in Paris' });
    });

    test(`${p.name}: NotFoundError for a model the gateway does not route`, async () => {
      await rejects(client.chat.completions.create({ model: `${p.name}/no-such-model`, messages }), OpenAI.NotFoundError,
        (e) => { assert.equal(e.status, 404); assert.equal(e.code, 'model_not_found'); assert.equal(e.param, 'model'); });
    });

    test(`${p.name}: RateLimitError from the upstream, with its Retry-After`, async () => {
      await rejects(client.chat.completions.create({ model: `${p.name}/status-429`, messages }), OpenAI.RateLimitError,
        (e) => { assert.equal(e.headers.get('retry-after'), '1'); assert.equal(e.type, 'rate_limit_error'); });
    });

    test(`${p.name}: InternalServerError for an upstream 5xx`, async () => {
      await rejects(client.chat.completions.create({ model: `${p.name}/status-500`, messages }), OpenAI.InternalServerError,
        (e) => { assert.equal(e.status, 502); assert.equal(e.type, 'server_error'); });
    });

    test(`${p.name}: BadRequestError relayed from the upstream`, async () => {
      await rejects(client.chat.completions.create({ model: `${p.name}/status-400`, messages }), OpenAI.BadRequestError,
        (e) => assert.equal(e.status, 400));
    });

    test(`${p.name}: an error event mid-stream raises APIError`, async () => {
      const stream = await client.chat.completions.create({ model: `${p.name}/stream-error`, messages, stream: true });
      let text = '';
      await rejects((async () => { for await (const c of stream) text += c.choices[0]?.delta?.content ?? ''; })(), OpenAI.APIError,
        (e) => assert.match(e.message, /scripted stream error/));
      assert.ok(text.length > 0, 'no chunk before the error');
    });
  }

  test('anthropic: an untranslatable field is a BadRequestError naming it', async () => {
    await rejects(client.chat.completions.create({ model: 'anthropic/fake-claude', messages, presence_penalty: 1 }), OpenAI.BadRequestError,
      (e) => { assert.equal(e.param, 'presence_penalty'); assert.equal(e.type, 'invalid_request_error'); });
    await rejects(client.chat.completions.create({ model: 'anthropic/fake-claude', messages, response_format: { type: 'json_object' } }),
      OpenAI.BadRequestError, (e) => assert.equal(e.param, 'response_format'));
  });

  test('a bare model name goes to the default provider', async () => {
    const c = await client.chat.completions.create({ model: 'fake-gpt', messages });
    assert.equal(c.choices[0].message.content, reply);
  });

  test('AuthenticationError for a wrong API key (not a valid JWT)', async () => {
    const bad = new OpenAI({ apiKey: 'sk-not-a-jwt', baseURL, maxRetries: 0 });
    await rejects(bad.models.list(), OpenAI.AuthenticationError, (e) => { assert.equal(e.status, 401); assert.equal(e.type, 'authentication_error'); });
    await rejects(bad.chat.completions.create({ model: 'fake-gpt', messages }), OpenAI.AuthenticationError);
  });

  test('embeddings: float and the SDK default (base64, decoded by the SDK)', async () => {
    const want = JSON.parse(env.ALPHA_VECTOR);
    const f = await client.embeddings.create({ model: 'openai/fake-embed', input: ['alpha', 'beta'], encoding_format: 'float' });
    assert.equal(f.object, 'list');
    assert.equal(f.data.length, 2);
    assert.equal(f.data[1].index, 1);
    assert.deepEqual(f.data[0].embedding.map((x) => Math.fround(x)), want.map((x) => Math.fround(x)));
    const b = await client.embeddings.create({ model: 'openai/fake-embed', input: 'alpha' });
    assert.deepEqual(b.data[0].embedding.map((x) => Math.fround(x)), want.map((x) => Math.fround(x)));
    assert.ok(f.usage.prompt_tokens > 0);
    await rejects(client.embeddings.create({ model: 'anthropic/fake-claude', input: 'x' }), OpenAI.NotFoundError);
  });

  test('models: list and retrieve (ids carry the provider)', async () => {
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    assert.ok(ids.includes('openai/fake-gpt') && ids.includes('anthropic/fake-claude') && ids.includes('openai/fake-embed'), ids.join());
    const m = await client.models.retrieve('anthropic/fake-claude');
    assert.equal(m.id, 'anthropic/fake-claude');
    assert.equal(m.owned_by, 'anthropic');
    await rejects(client.models.retrieve('openai/no-such-model'), OpenAI.NotFoundError);
  });
}
