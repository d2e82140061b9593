import NIOCore
import RayBridgeCore

/// Following a live stream and deciding, without polling a busy run, when it is over.
extension FollowerEngine {
    enum LiveOutcome: Sendable {
        /// The stream ended by itself.
        case closed
        /// The run is over; `rest`: its log is to be read to the end of the file.
        case over(rest: Bool)
    }

    /// Follows the stream (bytes handed on as they come) until the run is over.
    func follow(nodeId: String) async throws -> Bool {
        guard case .stateAPI(let framing) = source else { return try await rereadWhileRunning(nodeId: nodeId) }
        let body = try await ray.streamDriverLog(nodeId: nodeId, submissionId: submissionId, following: timing.streamInterval, framing: framing)
        skipper.startPass()
        switch try await live(body) {
        case .closed:
            return false
        case .over(rest: true):
            // The file is final now: its end is found exactly, with no quiet window to wait.
            logger.info("the run is over; reading the rest of its log to the end of the file", metadata: ["bytesRead": "\(skipper.emitted)"])
            try await readFile(nodeId: nodeId)
            return true
        case .over(rest: false):
            return true
        }
    }

    /// Reads `body` while checking for the end of the run whenever it goes quiet.
    func live(_ body: DriverLogBody?) async throws -> LiveOutcome {
        let activity = ReadActivity(waitingSince: clock.now)
        let clock = clock
        return try await withThrowingTaskGroup(of: LiveOutcome.self) { group in
            group.addTask {
                guard let body else {
                    // Nothing to read (`.endOnly`): wait for the end check, which cancels this.
                    let (never, continuation) = AsyncStream<Void>.makeStream()
                    for await _ in never {}
                    continuation.finish()
                    throw CancellationError()
                }
                for try await chunk in body {
                    activity.received()
                    await self.deliver(chunk)
                    activity.waiting(since: clock.now)
                }
                return .closed
            }
            group.addTask { try await self.untilOver(activity) }
            let first = try await group.next()!
            group.cancelAll()
            return first
        }
    }

    /// Asks Ray for the run's state only when the reader has waited `quietFor` for bytes, at most
    /// every `checkEvery`; sleeps to the next moment a check could be due instead of ticking.
    /// Once the run is over: done when its log can be read again cheaply, else when the stream has
    /// stayed quiet for the drain window.
    func untilOver(_ activity: ReadActivity<C.Instant>) async throws -> LiveOutcome {
        var lastCheck: C.Instant?
        var overAt: C.Instant?
        while true {
            let seen = activity.current
            var due = (seen.waitingSince ?? clock.now).advanced(by: overAt == nil ? timing.quietFor : timing.drainWindow)
            if let overAt {
                due = max(due, overAt.advanced(by: timing.drainWindow))
            } else if let lastCheck {
                due = max(due, lastCheck.advanced(by: timing.checkEvery))
            }
            try await clock.sleep(until: due, tolerance: nil)
            guard seen.waitingSince != nil, activity.current == seen else { continue }
            if overAt != nil { return .over(rest: false) }
            lastCheck = clock.now
            guard let details = try? await ray.job(submissionId) else { continue }
            guard details.status.isTerminal else {
                await emit(.runGoesOn(details))
                continue
            }
            await ended(details)
            guard case .exact = mode else { return .over(rest: false) }
            if skipper.emitted <= timing.rereadLimit { return .over(rest: true) }
            overAt = clock.now
        }
    }
}

extension FollowerEngine.LiveOutcome {
    var isOver: Bool {
        if case .over = self { return true }
        return false
    }
}
