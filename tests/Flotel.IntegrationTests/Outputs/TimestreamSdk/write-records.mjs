// Cross-check client (tests only): sends one WriteRecords with the official AWS SDK for JavaScript v3 to Flotel's fake
// Timestream server, with fixed credentials and the fake's DescribeEndpoints URL as the endpoint.
// Usage: node write-records.mjs INPUT.json   where INPUT = {endpoint, region, accessKeyId, secretAccessKey, request}
// Prints {"ok":true,"response":…} or {"ok":false,"name":…,"status":…,"message":…} on stdout.
import { readFileSync } from "node:fs";
import { TimestreamWriteClient, WriteRecordsCommand } from "@aws-sdk/client-timestream-write";

const input = JSON.parse(readFileSync(process.argv[2], "utf8"));
const client = new TimestreamWriteClient({
  region: input.region,
  endpoint: input.endpoint,
  credentials: { accessKeyId: input.accessKeyId, secretAccessKey: input.secretAccessKey },
  maxAttempts: 1,
});
try {
  const response = await client.send(new WriteRecordsCommand(input.request));
  delete response.$metadata;
  console.log(JSON.stringify({ ok: true, response }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, name: e.name, status: e.$metadata?.httpStatusCode, message: e.message }));
}
