// A second real client: LangChain's ChatOpenAI and OpenAIEmbeddings
// (@langchain/openai) against the /v1 gateway, for both providers.
// Started by e2e/openai_node_test.go with the environment gateway.test.mjs
// describes; skipped in MODE=ratelimit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChatOpenAI, OpenAIEmbeddings } from '@langchain/openai';

const env = process.env;
const configuration = { baseURL: env.GATEWAY_URL + '/v1' };
const common = { apiKey: env.API_KEY, configuration, maxRetries: 0 };

if (env.MODE !== 'ratelimit') {
  for (const model of ['openai/fake-gpt', 'anthropic/fake-claude']) {
    test(`langchain ${model}: invoke, stream, tools`, async () => {
      const llm = new ChatOpenAI({ ...common, model, temperature: 0.2 });
      const msg = await llm.invoke([['system', 'be brief'], ['human', 'weather in Paris']]);
      assert.equal(msg.content, env.REPLY);
      assert.ok(msg.usage_metadata?.total_tokens > 0, JSON.stringify(msg.usage_metadata));

      let text = '';
      for await (const chunk of await llm.stream('weather in Paris')) text += chunk.content;
      assert.equal(text, env.REPLY);

      const withTools = llm.bindTools([{ type: 'function', function: { name: 'lookup', description: 'find things',
        parameters: { type: 'object', properties: { q: { type: 'string' } } } } }]);
      const call = await withTools.invoke('weather in Paris');
      assert.equal(call.tool_calls.length, 1);
      assert.equal(call.tool_calls[0].name, 'lookup');
      assert.deepEqual(call.tool_calls[0].args, { q: 'weather in Paris' });
    });
  }

  test('langchain embeddings', async () => {
    const emb = new OpenAIEmbeddings({ ...common, model: 'openai/fake-embed' });
    const [v] = await emb.embedDocuments(['alpha']);
    const want = JSON.parse(env.ALPHA_VECTOR);
    assert.deepEqual(v.map((x) => Math.fround(x)), want.map((x) => Math.fround(x)));
    const q = await emb.embedQuery('alpha');
    assert.equal(q.length, want.length);
  });
}
