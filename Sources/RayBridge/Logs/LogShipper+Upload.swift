import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import RayBridgeClients
import RayBridgeCore

/// The multipart upload of a run's log: parts, completion, starting over, S3 retries, progress.
extension LogShipper {
    /// Uploads `body` as the next part, retrying until S3 takes it.
    func uploadPart(_ body: ByteBuffer) async throws {
        let (s3, bucket, key) = (s3, state.bucket, state.key)
        if state.uploadId == nil {
            state.uploadId = try await retrying("create the upload") { () async throws(S3Error) -> String in
                try await s3.createMultipartUpload(bucket: bucket, key: key)
            }
            try store.save(state)
        }
        let number = state.parts.count + 1
        let uploadId = state.uploadId!
        let etag: String
        do {
            etag = try await retrying("upload part \(number)") { () async throws(S3Error) -> String in
                try await s3.uploadPart(bucket: bucket, key: key, uploadId: uploadId, partNumber: number, body: body)
            }
        } catch let error as S3Error where error.code == "NoSuchUpload" {
            try startOver()
            throw error
        }
        state.parts.append(.init(number: number, etag: etag, size: Int64(body.readableBytes)))
        RayBridgeMetrics.logShipped(bytes: body.readableBytes)
        try store.save(state)
        lastError = nil
        await report()
    }

    /// The upload is gone (aborted, expired): ship the whole log again, from byte 0.
    func startOver() throws {
        logger.warning("the multipart upload vanished; shipping the log again from byte 0")
        state.restartFromZero()
        consumed = 0
        pending = Self.partBuffer(configuration.partSize)
        try store.save(state)
    }

    func finish() async throws {
        let (s3, bucket, key) = (s3, state.bucket, state.key)
        if state.uploadId == nil {
            let body = pending
            try await retrying("put the log object") { () async throws(S3Error) in
                try await s3.putObject(bucket: bucket, key: key, body: body)
            }
            state.parts = [.init(number: 1, etag: "", size: Int64(body.readableBytes))]
            RayBridgeMetrics.logShipped(bytes: body.readableBytes)
        } else {
            if pending.readableBytes > 0 {
                try await uploadPart(pending)
                pending = ByteBuffer()
            }
            let parts = state.parts.map { (number: $0.number, etag: $0.etag) }
            let uploadId = state.uploadId!
            do {
                try await retrying("complete the upload") { () async throws(S3Error) in
                    try await s3.completeMultipartUpload(bucket: bucket, key: key, uploadId: uploadId, parts: parts)
                }
            } catch let error as S3Error where error.code == "NoSuchUpload" {
                try startOver()
                throw error
            }
        }
        pending = ByteBuffer()
        state.complete = true
        lastError = nil
        try store.save(state)
        await report()
    }

    /// Retries S3 calls without limit while the failure is temporary (S3 down, throttling):
    /// Ray's log file keeps the bytes meanwhile. Permanent errors are retried too, slower, since
    /// a fixed bucket policy should not need a restart; each attempt is reported in the status.
    func retrying<T: Sendable>(_ what: String, _ call: @Sendable () async throws(S3Error) -> T) async throws -> T {
        var failures = 0
        while true {
            try Task.checkCancellation()
            do {
                return try await call()
            } catch {
                RayBridgeMetrics.s3Error(code: error.code ?? "Unreachable")
                if error.code == "NoSuchUpload" { throw error }
                failures += 1
                RayBridgeMetrics.retried("s3")
                lastError = "cannot \(what): \(error)"
                if failureLog.changed("\(what): \(error)") {
                    logger.warning("S3 call failed; retrying with backoff (logged again only when the reason changes)", metadata: ["call": "\(what)", "error": "\(error)", "attempt": "\(failures)"])
                }
                await report()
                try await Task.sleep(for: Self.backoff(error.isRetryable ? failures : failures + 4))
            }
        }
    }

    func report() async {
        await onProgress(submissionId, .init(destination: destination, bytes: state.shipped, parts: state.parts.count, complete: state.complete, error: lastError))
    }

    /// After a restart: trust S3's part list over our file, or start over if the upload is gone.
    func resumeUpload() async {
        guard let uploadId = state.uploadId else { return }
        var failures = 0
        while !Task.isCancelled {
            do {
                let listed = try await s3.listParts(bucket: state.bucket, key: state.key, uploadId: uploadId)
                state.reconcile(with: listed.map { .init(number: $0.number, etag: $0.etag, size: $0.size) })
                logger.info("resuming the log upload", metadata: ["parts": "\(state.parts.count)", "bytes": "\(state.shipped)"])
                break
            } catch where error.code == "NoSuchUpload" || error.code == "NoSuchKey" {
                logger.warning("the open upload vanished; shipping the log again from byte 0")
                state.restartFromZero()
                break
            } catch {
                failures += 1
                lastError = error.description
                await report()
                try? await Task.sleep(for: Self.backoff(failures))
            }
        }
        consumed = state.shipped
        pending = Self.partBuffer(configuration.partSize(forPart: state.parts.count + 1))
        try? store.save(state)
    }

    /// Waits for `upload` and hands back its part's buffer, emptied; a new buffer when there was no
    /// upload or its buffer is still referenced elsewhere (then `clear` allocates).
    static func recycle(_ upload: inout Task<ByteBuffer, Error>?, capacity: Int) async throws -> ByteBuffer {
        guard upload != nil else { return partBuffer(capacity) }
        var buffer: ByteBuffer
        do {
            // The task holds a copy of its result: let it go before asking for a unique buffer.
            let task = upload!
            upload = nil
            buffer = try await task.value
        }
        buffer.clear(minimumCapacity: capacity + (256 << 10))
        return buffer
    }

    /// Sized for one part plus the chunks that overshoot it (NIO reads at most 64 KiB at a time), so
    /// it never grows by doubling.
    static func partBuffer(_ partSize: Int) -> ByteBuffer {
        ByteBufferAllocator().buffer(capacity: partSize + (256 << 10))
    }
}
