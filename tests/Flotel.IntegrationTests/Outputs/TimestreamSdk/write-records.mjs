// Cross-check client (tests only): the official AWS SDK for JavaScript v3 (@aws-sdk/client-timestream-write) talks to
// Flotel's fake Timestream server with fixed credentials. It discovers the endpoint itself (DescribeEndpoints on the
// fake's "regional" URL; the SDK skips discovery when given a custom endpoint), then sends one WriteRecords there.
// Usage: node write-records.mjs INPUT.json
//   INPUT = {discoveryEndpoint, region, accessKeyId, secretAccessKey, request: <WriteRecordsRequest>}
// Prints one JSON line: {"ok":true,"endpoint":…,"response":…} or {"ok":false,"name":…,"status":…,"message":…}.
import { readFileSync } from "node:fs";
import { TimestreamWriteClient, DescribeEndpointsCommand, WriteRecordsCommand } from "@aws-sdk/client-timestream-write";

const input = JSON.parse(readFileSync(process.argv[2], "utf8"));
const common = {
  region: input.region,
  credentials: { accessKeyId: input.accessKeyId, secretAccessKey: input.secretAccessKey },
  maxAttempts: 1,
};
try {
  const discovery = new TimestreamWriteClient({ ...common, endpoint: input.discoveryEndpoint });
  const endpoints = await discovery.send(new DescribeEndpointsCommand({}));
  const endpoint = "http://" + endpoints.Endpoints[0].Address;
  const writer = new TimestreamWriteClient({ ...common, endpoint });
  const response = await writer.send(new WriteRecordsCommand(input.request));
  delete response.$metadata;
  console.log(JSON.stringify({ ok: true, endpoint, response }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, name: e.name, status: e.$metadata?.httpStatusCode, message: e.message }));
}
