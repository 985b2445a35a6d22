// The /v1 gateway with the official OpenAI Node SDK: npm install openai@6
// GATEWAY_URL: the service's /v1 (a hybrid or full build; lean answers 501).
// API_KEY: with JWT auth on, a token from POST /auth/token; with it off, any string.
// MODEL: one of LLM_MODELS (provider-prefixed: openai/..., anthropic/...).
import OpenAI from "openai";

const client = new OpenAI({
  baseURL: process.env.GATEWAY_URL ?? "http://127.0.0.1:8000/v1",
  apiKey: process.env.API_KEY ?? "auth-is-off",
});
const model = process.env.MODEL ?? "openai/gpt-4o-mini";
const messages = [{ role: "user", content: "Say hello." }];

for await (const m of client.models.list()) console.log("model:", m.id);

const answer = await client.chat.completions.create({ model, messages });
console.log("reply:", answer.choices[0].message.content);

let streamed = "";
const stream = await client.chat.completions.create({ model, messages, stream: true });
for await (const chunk of stream) streamed += chunk.choices[0]?.delta?.content ?? "";
console.log("streamed:", streamed);
