import Logging
import NIOCore
import RayBridgeClients
import RayBridgeCore

/// Notices the end of a run within about a second when no log is shipped (with S3 the
/// `LogShipper` does this): it follows the driver log from its last line, discarding it, and asks
/// Ray for the run's state only when the log has been quiet for a moment, at most once a second.
/// A chatty run costs no requests at all; a quiet one costs one small GET a second. The
/// reconciler's poll (`updateInterval`) stays the fallback if the stream cannot be had.
actor RunEndWatcher {
    typealias Observer = @Sendable (RayJobDetails) async -> Void

    static let quietFor: Duration = .milliseconds(250)
    static let checkEvery: Duration = .seconds(1)

    private let submissionId: String
    private let ray: RayClient
    private let logger: Logger
    private let onTerminal: Observer
    private var lastActivity = ContinuousClock.now
    private var streamEnded = false

    init(submissionId: String, ray: RayClient, logger: Logger, onTerminal: @escaping Observer) {
        self.submissionId = submissionId
        self.ray = ray
        self.logger = logger
        self.onTerminal = onTerminal
    }

    /// Returns once the run is terminal (after telling the observer) or the task is cancelled.
    func run() async {
        var failures = 0
        while !Task.isCancelled {
            do {
                let (nodeId, details) = try await ray.waitForDriver(submissionId)
                guard let nodeId else {
                    await onTerminal(details)
                    return
                }
                let body = try await ray.streamDriverLog(nodeId: nodeId, submissionId: submissionId, lastLines: 1)
                failures = 0
                streamEnded = false
                let reader = Task { [weak self] in
                    do {
                        for try await _ in body { await self?.touch() }
                    } catch {}
                    await self?.ended()
                }
                defer { reader.cancel() }
                if await watch() { return }
            } catch {
                failures += 1
                logger.debug("cannot follow the driver log to notice the run's end; the poll goes on", metadata: ["submission": "\(submissionId)", "error": "\(error)"])
            }
            try? await Task.sleep(for: LogShipper.backoff(failures))
        }
    }

    private func touch() {
        lastActivity = .now
    }

    private func ended() {
        streamEnded = true
    }

    /// True when the run was found terminal; false when the stream ended first (reconnect).
    private func watch() async -> Bool {
        var lastCheck = ContinuousClock.now - Self.checkEvery
        while !Task.isCancelled {
            let seen = lastActivity
            let due = max(seen + Self.quietFor, lastCheck + Self.checkEvery)
            // Sleep to the next moment a check could be due instead of ticking: a quiet sidecar
            // should not wake up for nothing.
            do { try await Task.sleep(until: due) } catch { return false }
            guard lastActivity == seen else { continue }
            lastCheck = .now
            if let details = try? await ray.job(submissionId), details.status.isTerminal {
                await onTerminal(details)
                return true
            }
            if streamEnded { return false }
        }
        return false
    }
}
