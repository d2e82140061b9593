import Synchronization

/// A clock whose time moves only when the test moves it (`advance`), or, made with
/// `advancesBySleeping`, by exactly as much as anyone sleeps, at once: code that waits runs
/// without waiting, and its waits are on record (`slept`).
final class TestClock: Clock {
    struct Instant: InstantProtocol {
        var offset: Duration

        func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private struct Sleeper {
        var deadline: Instant
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now = Instant(offset: .zero)
        var sleepers: [Int: Sleeper] = [:]
        var cancelled: Set<Int> = []
        var nextId = 0
        var slept: [Duration] = []
    }

    private let state = Mutex(State())
    let advancesBySleeping: Bool

    init(advancesBySleeping: Bool = false) {
        self.advancesBySleeping = advancesBySleeping
    }

    var now: Instant { state.withLock { $0.now } }
    var minimumResolution: Duration { .zero }
    /// Every sleep so far, as asked.
    var slept: [Duration] { state.withLock { $0.slept } }
    var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        try Task.checkCancellation()
        let id = state.withLock { state in
            state.nextId += 1
            state.slept.append(state.now.duration(to: deadline))
            if advancesBySleeping, deadline > state.now { state.now = deadline }
            return state.nextId
        }
        if advancesBySleeping {
            await Task.yield()
            return
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome: Result<Void, any Error>? = state.withLock { state in
                    if state.cancelled.remove(id) != nil { return .failure(CancellationError()) }
                    if deadline <= state.now { return .success(()) }
                    state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let sleeper = state.withLock { state in
                let sleeper = state.sleepers.removeValue(forKey: id)
                if sleeper == nil { state.cancelled.insert(id) }
                return sleeper
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves time on and wakes whoever is due.
    func advance(by duration: Duration) {
        let due = state.withLock { state in
            state.now = state.now.advanced(by: duration)
            let now = state.now
            let due = state.sleepers.filter { $0.value.deadline <= now }
            for id in due.keys { state.sleepers[id] = nil }
            return due.values.map(\.continuation)
        }
        for continuation in due { continuation.resume() }
    }

    /// Moves time on by `step` whenever something sleeps, until `done` says so. Lets other tasks
    /// run in between; gives up (false) after `rounds` rounds, so that a hang fails instead.
    func advance(by step: Duration, until done: @Sendable () async -> Bool, rounds: Int = 20_000) async -> Bool {
        for _ in 0..<rounds {
            if await done() { return true }
            if sleeperCount > 0 { advance(by: step) }
            await Task.yield()
            try? await Task.sleep(for: .microseconds(200))
        }
        return await done()
    }
}

extension TestClock {
    /// Lets other tasks run, without moving time, until `done` says so (false: never did).
    func settle(until done: @Sendable () async -> Bool, rounds: Int = 20_000) async -> Bool {
        for _ in 0..<rounds {
            if await done() { return true }
            await Task.yield()
            try? await Task.sleep(for: .microseconds(200))
        }
        return await done()
    }
}
