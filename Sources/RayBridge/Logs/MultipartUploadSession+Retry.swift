import RayBridgeClients
import RayBridgeCore

/// The one retry layer for the log's S3 calls, and what the status says about them.
extension MultipartUploadSession {
    /// Retries `call` without limit while S3 fails: Ray's log file keeps the bytes meanwhile.
    /// Permanent errors are retried too, slower, since a fixed bucket policy should not need a
    /// restart; each failure shows in the status, and in the log once per changed reason. Throws
    /// the S3 error when its code is in `vanished`, and `CancellationError`.
    func retrying<T: Sendable>(
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

    func succeeded() {
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
