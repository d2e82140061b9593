import Logging
import NIOCore
import RayBridgeClients
import RayBridgeCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One run's log object in S3 and the state file that lets a restart resume it: creates the
/// multipart upload when the first full part is there (a short log is one PutObject), uploads the
/// parts in order, records each in `LogUploadStore`, completes the upload, and after a restart
/// trusts S3's part list (ListParts) over the file. When the upload vanished (NoSuchUpload) it
/// starts over: the caller then ships the log again from byte 0.
///
/// Every S3 call goes through `retrying`, the one retry layer for the log's S3 calls.
actor MultipartUploadSession {
    var contentType: String { state.compressed ? "application/gzip" : "text/plain; charset=utf-8" }

    let s3: any S3Multipart
    let store: LogUploadStore
    let retryBackoff: Backoff
    let clock: any Clock<Duration>
    let logger: Logger
    let onProgress: @Sendable (StatusSnapshot.LogShipment) -> Void
    /// The credential chain's last refresh failure: shown even while the old credentials still work.
    let credentialError: @Sendable () -> String?
    private(set) var state: LogUploadState
    /// The last failure while it is being retried, shown in the status.
    private var lastError: String?
    private var failureLog = ReasonLog()

    init(
        submissionId: String, bucket: String, key: String, rayURL: URL? = nil, rayVersion: RayVersion? = nil, s3: any S3Multipart,
        store: LogUploadStore, retryBackoff: Backoff,
        clock: any Clock<Duration>, logger: Logger, credentialError: @escaping @Sendable () -> String? = { nil },
        onProgress: @escaping @Sendable (StatusSnapshot.LogShipment) -> Void
    ) {
        self.credentialError = credentialError
        self.s3 = s3
        self.store = store
        self.retryBackoff = retryBackoff
        self.clock = clock
        self.logger = logger
        self.onProgress = onProgress
        if let saved = store.load(submissionId), saved.bucket == bucket, saved.key == key {
            state = saved
        } else {
            state = LogUploadState(submissionId: submissionId, bucket: bucket, key: key, rayURL: rayURL, rayVersion: rayVersion)
        }
        if state.rayURL == nil, let rayURL {
            // A file of an earlier version: it learns its cluster now.
            state.rayURL = rayURL
            state.rayVersion = rayVersion?.text
        }
    }

    var destination: String { "s3://\(state.bucket)/\(state.key)" }
    /// Bytes of the log S3 holds in parts: where the log is to be read from.
    var shipped: Int64 { state.shipped }
    var nextPart: Int { state.parts.count + 1 }
    var isComplete: Bool { state.complete }

    /// After a restart: S3's part list is trusted over the state file (S3 may hold a part the file
    /// had not recorded yet); an upload that is gone starts over.
    func resume() async throws {
        guard let uploadId = state.uploadId, !state.complete else { return }
        let (s3, bucket, key) = (s3, state.bucket, state.key)
        do {
            let listed = try await retrying("list the uploaded parts", vanished: ["NoSuchUpload", "NoSuchKey"]) { () async throws(S3Error) in
                try await s3.listParts(bucket: bucket, key: key, uploadId: uploadId)
            }
            state.reconcile(with: listed.map { .init(number: $0.number, etag: $0.etag, size: $0.size, checksum: $0.checksumCRC32) })
            logger.info("resuming the log upload", metadata: ["parts": "\(state.parts.count)", "bytes": "\(state.shipped)"])
        } catch is S3Error {
            logger.warning("the open upload vanished; shipping the log again from byte 0")
            state.restartFromZero()
        }
        try? store.save(state)
    }

    /// Uploads `body` as the next part, retrying until S3 takes it. Throws `S3Error` when the
    /// upload vanished (the session has started over then), or a failure to record the part.
    /// `logBytes`: how much of the log `body` holds, when compressed.
    func upload(_ body: ByteBuffer, logBytes: Int? = nil) async throws {
        let (s3, bucket, key, contentType) = (s3, state.bucket, state.key, contentType)
        if state.uploadId == nil {
            state.uploadId = try await retrying("create the upload") { () async throws(S3Error) -> String in
                try await s3.createMultipartUpload(bucket: bucket, key: key, contentType: contentType, checksummed: true)
            }
            state.checksummed = true
            try store.save(state)
        }
        let number = state.parts.count + 1
        let uploadId = state.uploadId!
        let checksum = state.checksummed == true ? S3Checksum.crc32(body) : nil
        let etag: String
        do {
            etag = try await retrying("upload part \(number)") { () async throws(S3Error) -> String in
                try await s3.uploadPart(bucket: bucket, key: key, uploadId: uploadId, partNumber: number, body: body, checksumCRC32: checksum)
            }
        } catch is S3Error {
            try startOver()
            throw S3UploadVanished(destination: destination)
        }
        state.parts.append(
            .init(number: number, etag: etag, size: Int64(body.readableBytes), checksum: checksum, logBytes: logBytes.map(Int64.init)))
        RayBridgeMetrics.logShipped(bytes: logBytes ?? body.readableBytes)
        try store.save(state)
        succeeded()
    }

    /// Ships `rest` (the bytes after the last full part) and makes the object whole.
    func finish(rest: ByteBuffer, logBytes: Int? = nil) async throws {
        let (s3, bucket, key, contentType) = (s3, state.bucket, state.key, contentType)
        if state.uploadId == nil {
            try await retrying("put the log object") { () async throws(S3Error) in
                try await s3.putObject(bucket: bucket, key: key, body: rest, contentType: contentType)
            }
            state.parts = [.init(number: 1, etag: "", size: Int64(rest.readableBytes), logBytes: logBytes.map(Int64.init))]
            RayBridgeMetrics.logShipped(bytes: logBytes ?? rest.readableBytes)
        } else {
            if rest.readableBytes > 0 { try await upload(rest, logBytes: logBytes) }
            let parts = state.parts.map { CompletedPart(number: $0.number, etag: $0.etag, checksumCRC32: $0.checksum) }
            let uploadId = state.uploadId!
            do {
                try await retrying("complete the upload") { () async throws(S3Error) in
                    try await s3.completeMultipartUpload(bucket: bucket, key: key, uploadId: uploadId, parts: parts)
                }
            } catch is S3Error {
                try startOver()
                throw S3UploadVanished(destination: destination)
            }
        }
        state.complete = true
        try store.save(state)
        succeeded()
    }

    /// The upload is gone (aborted, expired): the log is shipped again, from byte 0.
    private func startOver() throws {
        logger.warning("the multipart upload vanished; shipping the log again from byte 0")
        state.restartFromZero()
        try store.save(state)
    }

    // MARK: Retries and what the status says about them

    /// Retries `call` without limit while S3 fails: Ray's log file keeps the bytes meanwhile.
    /// Permanent errors are retried too, slower, since a fixed bucket policy should not need a
    /// restart; each failure shows in the status, and in the log once per changed reason. Throws
    /// the S3 error when its code is in `vanished`, and `CancellationError`.
    private func retrying<T: Sendable>(
        _ what: String, vanished: Set<String> = ["NoSuchUpload"], _ call: @Sendable () async throws(S3Error) -> T
    ) async throws -> T {
        var failures = 0
        while true {
            try Task.checkCancellation()
            do {
                return try await call()
            } catch {
                // A shutdown breaks the connection: that is not S3's failure.
                try Task.checkCancellation()
                RayBridgeMetrics.s3Error(code: error.code ?? "Unreachable")
                if let code = error.code, vanished.contains(code) { throw error }
                failures += 1
                RayBridgeMetrics.retried("s3")
                lastError = "cannot \(what): \(error)"
                if failureLog.changed("\(what): \(error)") {
                    logger.warning(
                        "S3 call failed; retrying with backoff (logged again only when the reason changes)",
                        metadata: ["call": "\(what)", "error": "\(error)", "attempt": "\(failures)"])
                }
                report()
                try await clock.sleep(for: retryBackoff.jitteredDelay(afterFailures: error.isRetryable ? failures : failures + 4))
            }
        }
    }

    /// Reading the log failed, or the shipment had to start again: shown until the next success.
    func interrupted(_ reason: String, attempt: Int? = nil) {
        lastError = reason
        if failureLog.changed(reason) {
            logger.warning(
                "log shipping interrupted; retrying with backoff (logged again only when the reason changes)",
                metadata: ["error": "\(reason)", "attempt": "\(attempt.map(String.init) ?? "-")"])
        }
        report()
    }

    private func succeeded() {
        lastError = nil
        report()
    }

    func report() {
        var shipment = StatusSnapshot.LogShipment(
            destination: destination, bytes: state.shipped, parts: state.parts.count, complete: state.complete, error: lastError)
        shipment.credentialsError = credentialError()
        onProgress(shipment)
    }
}

/// The multipart upload of a log is gone from S3 (aborted, or expired by a lifecycle rule) while it
/// was shipped: the log is shipped again from byte 0.
struct S3UploadVanished: Error, CustomStringConvertible {
    var destination: String

    var description: String {
        "the multipart upload of \(destination) no longer exists (aborted, or expired by a lifecycle rule); shipping the log again from byte 0"
    }
}
