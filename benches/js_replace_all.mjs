// What users of the official JavaScript client v5 write: `csv-parse` reading a CSV (typed like
// our task's mapping) into the array `replaceAllObjects` takes.
//
// Usage: node js_replace_all.mjs ALGOLIA_URL APP_ID API_KEY CSV_URL INDEX
// Prints one JSON line: {"records": N, "seconds": S}. Needs `algoliasearch@5` and `csv-parse`
// next to it (benches/e2e_latency.sh installs them into target/bench-node).
import { Readable } from 'node:stream';
import { algoliasearch } from 'algoliasearch';
import { parse } from 'csv-parse';

const [algoliaUrl, appId, apiKey, csvUrl, indexName] = process.argv.slice(2);
const url = new URL(algoliaUrl);
const client = algoliasearch(appId, apiKey, {
  hosts: [
    {
      url: url.hostname,
      port: Number(url.port),
      accept: 'readWrite',
      protocol: url.protocol.replace(':', ''),
    },
  ],
});

const started = performance.now();
const response = await fetch(csvUrl);
const rows = Readable.fromWeb(response.body).pipe(parse({ columns: true }));
const objects = [];
for await (const row of rows) {
  row.objectID = row.id;
  row.price = Number.parseFloat(row.price);
  row.in_stock = row.in_stock === 'true';
  row.stock = Number.parseInt(row.stock, 10);
  row.tags = JSON.parse(row.tags);
  objects.push(row);
}
await client.replaceAllObjects({ indexName, objects, batchSize: 1000 });
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ records: objects.length, seconds: Math.round(seconds * 1000) / 1000 }));
