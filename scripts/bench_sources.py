"""Bare readers of Ray's two driver-log sources, for `make bench`: each reads one run's whole
driver log and discards it, then prints `bytes seconds cpu_seconds` on one line.

  bench_sources.py tail   URL SUBMISSION_ID            the Jobs API's tail WebSocket
  bench_sources.py stream URL SUBMISSION_ID NODE_ID    the state API's file stream (what raybridge reads)
  bench_sources.py sink   ENDPOINT BYTES PART_MIB       the S3 server's intake: boto3 uploads BYTES
                                                        from memory in sequential parts and completes

The tail WebSocket ends by itself once the run is terminal and the log is read. The state stream
never ends (it follows the file): it is read until it has been quiet for QUIET seconds after the
run is terminal, as raybridge does; that wait is subtracted from the time.
"""
import asyncio
import os
import sys
import time

import aiohttp

QUIET = 1.0


def cpu():
    t = os.times()
    return t.user + t.system


async def tail(url, submission_id):
    total = 0
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{url}/api/jobs/{submission_id}/logs/tail", max_msg_size=0) as ws:
            async for message in ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    total += len(message.data.encode("utf-8"))
                elif message.type == aiohttp.WSMsgType.BINARY:
                    total += len(message.data)
                else:
                    break
    return total, 0.0


async def stream(url, submission_id, node_id):
    total = 0
    params = {"node_id": node_id, "filename": f"job-driver-{submission_id}.log", "lines": "-1", "interval": "0.5"}
    last = time.monotonic()
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        async with session.get(f"{url}/api/v0/logs/stream", params=params) as response:
            response.raise_for_status()
            while True:
                try:
                    chunk = await asyncio.wait_for(response.content.readany(), QUIET)
                except asyncio.TimeoutError:
                    break
                if not chunk:
                    break
                total += len(chunk)
                last = time.monotonic()
    return total, time.monotonic() - last


def sink(endpoint, size, part_mib):
    import boto3  # credentials from the environment (.run/s3.env)
    s3 = boto3.client("s3", endpoint_url=endpoint)
    part = os.urandom(part_mib << 20)
    key = f"bench/sink-{time.time()}"
    upload = s3.create_multipart_upload(Bucket="ray-logs", Key=key)["UploadId"]
    parts, sent, number = [], 0, 0
    while sent < size:
        number += 1
        body = part[: min(len(part), size - sent)]
        etag = s3.upload_part(Bucket="ray-logs", Key=key, UploadId=upload, PartNumber=number, Body=body)["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
        sent += len(body)
    s3.complete_multipart_upload(Bucket="ray-logs", Key=key, UploadId=upload, MultipartUpload={"Parts": parts})
    return sent, 0.0


def main():
    kind, url, submission_id = sys.argv[1:4]
    t0, c0 = time.monotonic(), cpu()
    if kind == "sink":
        total, idle = sink(url, int(submission_id), int(sys.argv[4]))
    elif kind == "tail":
        total, idle = asyncio.run(tail(url, submission_id))
    else:
        total, idle = asyncio.run(stream(url, submission_id, sys.argv[4]))
    print(total, time.monotonic() - t0 - idle, cpu() - c0)


if __name__ == "__main__":
    main()
