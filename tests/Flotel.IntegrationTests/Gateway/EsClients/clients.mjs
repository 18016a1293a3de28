// Calls the gateway's Elasticsearch API with the official clients (versions pinned in package-lock.json) and prints
// one JSON line: per client, per call, the answer body or the error the client raised. The test asserts on it.
// Usage: node clients.mjs http://127.0.0.1:PORT INDEX
import { Client as Es8 } from 'es8';
import { Client as Es9 } from 'es9';
import os2 from 'os2';
import os3 from 'os3';

const [node, index] = process.argv.slice(2);

// Grafana's msearch header (pkg/tsdb/elasticsearch/client/client.go) and a logs body of the shape of
// pkg/tsdb/elasticsearch/testdata_request/logs.request.line1.json, with @timestamp as the time field.
const header = { search_type: 'query_then_fetch', ignore_unavailable: true, index: 'logstash-*' };
const logsBody = {
  docvalue_fields: ['@timestamp'],
  query: { bool: { filter: [
    { range: { '@timestamp': { format: 'epoch_millis', gte: 0, lte: 4102444800000 } } },
    { query_string: { analyze_wildcard: true, query: 'error' } },
  ] } },
  script_fields: {},
  size: 500,
  sort: [{ '@timestamp': { order: 'desc', unmapped_type: 'boolean' } }, { _doc: { order: 'desc' } }],
  highlight: { pre_tags: ['@HIGHLIGHT@'], post_tags: ['@/HIGHLIGHT@'], fragment_size: 2147483647, fields: { '*': {} } },
  fields: [{ field: '@timestamp', format: 'strict_date_optional_time_nanos' }],
};
const highlightSearch = { query: { match: { message: 'disk' } }, highlight: { fields: { message: {} } } };

async function call(fn) {
  try {
    const answer = await fn();
    // The OpenSearch clients answer {body, statusCode, …}; the Elasticsearch clients 8+ answer the body.
    return { ok: true, body: answer && answer.body !== undefined && answer.statusCode !== undefined ? answer.body : answer };
  } catch (e) {
    return { ok: false, error: `${e.name}: ${e.message}`, status: e.meta?.statusCode ?? e.statusCode ?? null };
  }
}

async function elastic(name, Client) {
  const client = new Client({ node });
  const result = {
    info: await call(() => client.info()),
    msearch: await call(() => client.msearch({ searches: [header, logsBody, { index: 'missing-index' }, {}], max_concurrent_shard_requests: 5 })),
    mapping: await call(() => client.indices.getMapping({ index })),
    fieldCaps: await call(() => client.fieldCaps({ index: 'logstash-*', fields: '*' })),
    health: await call(() => client.cluster.health({ wait_for_status: 'yellow' })),
    search: await call(() => client.search({ index, ...highlightSearch })),
    catHealth: await call(() => client.cat.health({ format: 'json' })),
  };
  await client.close();
  return [name, result];
}

async function opensearch(name, Client) {
  const client = new Client({ node });
  const result = {
    info: await call(() => client.info()),
    msearch: await call(() => client.msearch({ body: [header, logsBody, { index: 'missing-index' }, {}], max_concurrent_shard_requests: 5 })),
    mapping: await call(() => client.indices.getMapping({ index })),
    fieldCaps: await call(() => client.fieldCaps({ index: 'logstash-*', fields: '*' })),
    health: await call(() => client.cluster.health({ wait_for_status: 'yellow' })),
    search: await call(() => client.search({ index, body: highlightSearch })),
    catHealth: await call(() => client.cat.health({ format: 'json' })),
  };
  await client.close();
  return [name, result];
}

const results = Object.fromEntries([
  await elastic('es8', Es8),
  await elastic('es9', Es9),
  await opensearch('os2', os2.Client),
  await opensearch('os3', os3.Client),
]);
console.log(JSON.stringify(results));
