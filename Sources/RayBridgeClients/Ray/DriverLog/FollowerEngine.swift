import Logging
import NIOCore
import RayBridgeCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The reading behind one iteration of a `DriverLogFollower`: every Ray call, every wait and every
/// decision of the follow, feeding its events into the iterator's queue.
actor FollowerEngine<C: Clock> where C.Duration == Duration {
    let submissionId: String
    let ray: any RayJobsReading
    let source: DriverLogSource
    let mode: FollowMode
    let timing: FollowTiming
    let clock: C
    let date: @Sendable () -> Date
    let logger: Logger
    var skipper: ReplaySkipper
    var output: ChunkQueue<FollowerOutput>?
    var endTold = false

    init(_ follower: DriverLogFollower<C>) {
        submissionId = follower.submissionId
        ray = follower.ray
        source = follower.source
        mode = follower.mode
        timing = follower.timing
        clock = follower.clock
        date = follower.date
        logger = follower.logger
        if case .exact(let offset) = follower.mode {
            skipper = ReplaySkipper(from: offset)
        } else {
            skipper = ReplaySkipper(from: 0)
        }
    }

    /// Follows until done; throws only when cancelled. Every failure is told and retried.
    func run(into queue: ChunkQueue<FollowerOutput>) async throws {
        output = queue
        var failures = 0
        while true {
            try Task.checkCancellation()
            do {
                if try await attempt() { return }
                // The stream ended by itself (a proxy, a restarted dashboard): connect again, after
                // a moment so that a stream that keeps ending costs no busy loop.
                failures = 0
                try await clock.sleep(for: timing.reconnect.initial)
            } catch {
                if error is CancellationError || Task.isCancelled { throw CancellationError() }
                failures += 1
                await emit(.interrupted("\(error)"))
                try await clock.sleep(for: timing.reconnect.delay(afterFailures: failures))
            }
        }
    }

    /// One connection to the run's log: true when the follow is done, false to connect again.
    func attempt() async throws -> Bool {
        // The end alone needs no driver and no log: only the paced checks.
        if case .endOnly = mode { return try await live(nil).isOver }
        let (nodeId, details) = try await waitForDriver()
        guard let nodeId else {
            // The run ended before a driver started (a runtime env failure): Ray's job log, if
            // any, is all there is.
            await ended(details)
            if case .exact = mode { try await read(try await ray.driverLogFromJobAPI(submissionId: submissionId)) }
            return true
        }
        if details.status.isTerminal {
            // A run that is over (a restart, an attach, a short job) has its whole log on disk: the
            // file endpoint ends at its end, so no quiet window has to pass.
            await ended(details)
            if case .exact = mode { try await readFile(nodeId: nodeId) }
            return true
        }
        return try await (source.followsLive ? follow(nodeId: nodeId) : rereadWhileRunning(nodeId: nodeId))
    }

    /// Until the run's driver is placed (its node holds the driver log): the node and the run, or
    /// nil and the run when it ended without a driver.
    func waitForDriver() async throws -> (nodeId: String?, details: RayJobDetails) {
        var polls = 0
        while true {
            let details = try await ray.job(submissionId)
            if let node = details.driverNodeId, !node.isEmpty { return (node, details) }
            if details.status.isTerminal { return (nil, details) }
            polls += 1
            try await clock.sleep(for: timing.driverPoll.delay(afterFailures: polls))
        }
    }

    /// Ray < 2.33, whose follow stream cannot be decoded exactly, and Ray 2.52 with a token, read
    /// through the job API: the whole log is read again and again (what was handed on is skipped),
    /// pausing so that reading takes at most a tenth of the time. The run's state is asked before
    /// each read, so the read after which it is over has the whole log.
    func rereadWhileRunning(nodeId: String) async throws -> Bool {
        while true {
            let started = clock.now
            let details = try await ray.job(submissionId)
            let over = details.status.isTerminal
            if over { await ended(details) }
            try await readFile(nodeId: nodeId)
            if over { return true }
            let took = started.duration(to: clock.now)
            try await clock.sleep(for: min(max(took * 9, timing.rereadPause.lowerBound), timing.rereadPause.upperBound))
        }
    }

    /// The log as it is now, to the end of the file.
    func readFile(nodeId: String) async throws {
        switch source {
        case .stateAPI(let framing):
            try await read(try await ray.streamDriverLog(nodeId: nodeId, submissionId: submissionId, following: nil, framing: framing))
        case .jobAPI:
            try await read(try await ray.driverLogFromJobAPI(submissionId: submissionId))
        }
    }

    /// One whole read, which replays from byte 0.
    func read(_ body: DriverLogBody) async throws {
        skipper.startPass()
        for try await chunk in body { await deliver(chunk) }
    }

    func deliver(_ chunk: ByteBuffer) async {
        guard case .exact = mode, let new = skipper.take(chunk) else { return }
        await emit(.bytes(new))
    }

    func emit(_ event: DriverLogEvent) async {
        await output?.push(.event(event))
    }

    /// Tells the end of the run, once, ahead of any bytes still queued.
    func ended(_ details: RayJobDetails) async {
        guard !endTold else { return }
        endTold = true
        await output?.pushFirst(.event(.runEnded(details)))
    }
}

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

    /// Asks Ray for the run's state only when the reader has waited `quietFor` for bytes, and no
    /// sooner after the last check than `FollowTiming.checkInterval` allows for the run's age then
    /// (young, or printed lately: every `checkEvery`); sleeps to the next moment a check could be
    /// due instead of ticking. Once the run is over: done when its log can be read again cheaply,
    /// else when the stream has stayed quiet for the drain window.
    func untilOver(_ activity: ReadActivity<C.Instant>) async throws -> LiveOutcome {
        var lastCheck: (at: C.Instant, age: Duration?)?
        var overAt: C.Instant?
        var generation = activity.current.generation
        var printedAt: C.Instant?
        while true {
            let seen = activity.current
            if seen.generation != generation {
                generation = seen.generation
                printedAt = clock.now
            }
            var due = (seen.waitingSince ?? clock.now).advanced(by: overAt == nil ? timing.quietFor : timing.drainWindow)
            var slowed = false
            if let overAt {
                due = max(due, overAt.advanced(by: timing.drainWindow))
            } else if let lastCheck {
                // Not only the check a line brings forward: the end it announces may come just after.
                let printed = printedAt.map { lastCheck.at < $0.advanced(by: timing.printedFor) } ?? false
                let pace = timing.checkInterval(age: lastCheck.age, printed: printed)
                due = max(due, lastCheck.at.advanced(by: pace))
                slowed = !printed && pace > timing.checkInterval(age: lastCheck.age, printed: true)
            }
            if slowed, case .exact = mode {
                // A line would bring this check forward: wake for it, not only at the slow pace.
                try await sleep(until: due, orChunkAfter: seen, activity)
            } else {
                try await clock.sleep(until: due, tolerance: nil)
            }
            guard seen.waitingSince != nil, activity.current == seen else { continue }
            if overAt != nil { return .over(rest: false) }
            let checked = clock.now
            guard let details = try? await ray.job(submissionId) else {
                lastCheck = (checked, lastCheck?.age)
                continue
            }
            let age = age(of: details)
            lastCheck = (checked, age)
            // Trace: what the paced checks saw, to tell a slow end check from a slow Ray.
            logger.trace(
                "asked Ray for the run's state",
                metadata: ["status": "\(details.status.rawValue)", "age": "\(age.map { "\($0)" } ?? "unknown")"])
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

extension FollowerEngine {
    /// Sleeps until `deadline`, or less if the reader gets a chunk meanwhile.
    func sleep(until deadline: C.Instant, orChunkAfter seen: ReadActivity<C.Instant>.State, _ activity: ReadActivity<C.Instant>) async throws {
        let clock = clock
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await clock.sleep(until: deadline, tolerance: nil) }
            group.addTask { await activity.chunk(after: seen) }
            defer { group.cancelAll() }
            try await group.next()
        }
        try Task.checkCancellation()
    }

    /// The run's age now by Ray's `start_time` (its head's clock against ours: a skew of seconds
    /// matters little at the ages that slow the pace; a start in our future is taken for now).
    func age(of details: RayJobDetails) -> Duration? {
        guard let start = details.startTime else { return nil }
        let now = Int64((date().timeIntervalSince1970 * 1000).rounded())
        return .milliseconds(max(now - start, 0))
    }
}

extension FollowerEngine.LiveOutcome {
    var isOver: Bool {
        if case .over = self { return true }
        return false
    }
}
