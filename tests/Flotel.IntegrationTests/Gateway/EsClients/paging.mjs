// Pages through a gateway's Elasticsearch API with one official client, then writes and reads single documents in
// .kibana (as Kibana's saved objects are), and prints what it read as one JSON line.
// Usage: node paging.mjs <es8|es9|os2|os3> <base URL> <index pattern> (versions pinned in package-lock.json)
// Every list holds the documents' "n" field (scroll and point-in-time pages) in the order they arrived.
const [flavour, node, index] = process.argv.slice(2);
const elastic = flavour.startsWith('es');
const { Client } = await import(flavour);
const client = new Client({ node });

// Responses: @elastic/elasticsearch 8/9 return the body; @opensearch-project/opensearch wraps it in { body }.
const body = (response) => (elastic ? response : response.body);
const size = 300;
const sort = [{ '@timestamp': 'desc' }];
const out = { scrollSearch: [], scrollDocuments: [], pit: [], pitTotals: [] };

// helpers.scrollSearch: every page of a scroll, cleared at the end.
for await (const page of client.helpers.scrollSearch(
  elastic ? { index, size, sort, query: { match_all: {} } } : { index, size, body: { sort, query: { match_all: {} } } },
)) {
  const hits = elastic ? page.body.hits.hits : page.body.hits.hits;
  for (const hit of hits) out.scrollSearch.push(hit._source.n);
}

// helpers.scrollDocuments: the _source of every hit.
for await (const doc of client.helpers.scrollDocuments(elastic ? { index, size } : { index, size, body: {} })) {
  out.scrollDocuments.push(doc.n);
}

// A point in time and search_after with each page's last sort values.
const pitId = elastic
  ? (await client.openPointInTime({ index, keep_alive: '1m' })).id
  : body(await client.createPit({ index, keep_alive: '1m' })).pit_id;
let after;
for (let pages = 0; pages < 1000; pages++) {
  const request = { size, sort, pit: { id: pitId, keep_alive: '1m' }, ...(after ? { search_after: after } : {}) };
  const result = body(await client.search(elastic ? request : { body: request }));
  out.pitTotals.push(result.hits.total.value);
  if (result.pit_id !== pitId) throw new Error(`pit_id ${result.pit_id} is not ${pitId}`);
  const hits = result.hits.hits;
  if (hits.length === 0) break;
  for (const hit of hits) out.pit.push(hit._source.n);
  after = hits[hits.length - 1].sort;
}

const closed = elastic
  ? await client.closePointInTime({ id: pitId })
  : body(await client.deletePit({ body: { pit_id: [pitId] } }));
out.pitClosed = elastic ? closed.succeeded && closed.num_freed === 1 : closed.pits[0].successful;

// Searching a closed point in time: the client's error carries Elasticsearch's 404.
try {
  const request = { pit: { id: pitId } };
  await client.search(elastic ? request : { body: request });
  out.closedSearch = 'answered';
} catch (e) {
  out.closedSearch = `${e.meta?.statusCode} ${e.meta?.body?.error?.type}`;
}

// Single documents, through the gateway's durable queue: refresh=wait_for answers once the document is searchable.
const docIndex = '.kibana';
const id = `config:${flavour}`;
const saved = { type: 'config', config: { buildNum: 1 }, client: flavour };
const withBody = (request, document) => (elastic ? { ...request, document } : { ...request, body: document });
out.indexResult = body(await client.index(withBody({ index: docIndex, id, refresh: 'wait_for' }, saved))).result;
out.getClient = body(await client.get({ index: docIndex, id }))._source.client;
const multi = body(await client.mget(elastic ? { index: docIndex, ids: [id, 'missing'] } : { index: docIndex, body: { ids: [id, 'missing'] } }));
out.mgetFound = multi.docs.map((d) => d.found);
out.exists = body(await client.exists({ index: docIndex, id }));
try {
  await client.create(withBody({ index: docIndex, id }, saved));
  out.createAgain = 'created';
} catch (e) {
  out.createAgain = `${e.meta?.statusCode} ${e.meta?.body?.error?.type}`;
}

// _count with terminate_after, which the clients send in the URL (Elasticsearch's count reads it nowhere else), and a
// get naming stored fields, which leaves _source out.
const countRequest = { index, terminate_after: 10 };
const counted = body(await client.count(elastic ? { ...countRequest, query: { match_all: {} } } : { ...countRequest, body: { query: { match_all: {} } } }));
out.countTerminated = [counted.count, counted.terminated_early];
out.getWithStoredFieldsHasSource = '_source' in body(await client.get({ index: docIndex, id, stored_fields: 'type' }));

console.log(JSON.stringify(out));
