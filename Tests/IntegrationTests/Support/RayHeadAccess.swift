import Foundation
import Testing

/// How an integration test uses the one Ray head (and the S3 server and TLS proxy beside it):
/// side by side with a few others, or alone.
///
/// A test mostly waits: for Ray to start a job's supervisor, for a job to print and end, for a
/// sidecar's next check. One after the other, the suites left a 2-core machine a third idle. Most
/// tests only need a head that answers and a job name nobody else uses, so they take `.shared`
/// access and run a few at a time. A test that stops the head or restarts it with a token takes
/// `.exclusive` access: it waits until the shared ones have finished, and none starts until it
/// has put an open head back. So does a test that measures how soon something happens (an exit
/// within 5 s, a deadline kept to 2 s, a burst settled within 15 s): beside three others on two
/// cores it would measure the machine as much as raybridge.
///
/// `IntegrationSuite` gives every test `.shared` access; a test marked `.rayHead(.exclusive)` gets
/// exclusive access instead (not both: shared then exclusive would wait for itself).
struct RayHeadAccess: TestTrait, SuiteTrait, TestScoping {
    let kind: AccessGate.Kind

    var isRecursive: Bool { true }

    func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? {
        // One scope per test case (the cases of a parameterized test also run side by side), none
        // around a whole suite; and a shared scope steps aside for a test's own exclusive one.
        guard !test.isSuite, testCase != nil else { return nil }
        if kind == .shared, test.traits.contains(where: { ($0 as? RayHeadAccess)?.kind == .exclusive }) { return nil }
        return self
    }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        try await AccessGate.rayHead.holding(kind, function)
    }
}

extension Trait where Self == RayHeadAccess {
    static func rayHead(_ kind: AccessGate.Kind) -> Self { RayHeadAccess(kind: kind) }
}

/// Shared access for up to `width` tests at once, or exclusive access for one. Exclusive requests
/// go first: once one waits, no shared test starts, and when the shared ones have finished every
/// exclusive test waiting runs, one after the other, before the shared ones go on. The tests all
/// ask at the start of a run, so the head is handed over twice, not once per exclusive test. No
/// one waits forever: a run has only so many exclusive tests.
actor AccessGate {
    enum Kind: Sendable, Equatable {
        case shared
        case exclusive
    }

    /// The Ray head (`RayHeadAccess`). `RAYBRIDGE_IT_WIDTH` (default 3): how many shared tests run
    /// at once; 1 runs them one after the other, as before. From the build on a 2-core machine is
    /// busy at 3 already: more would only take CPU from the release build beside the suites.
    static let rayHead = AccessGate(width: Int(ProcessInfo.processInfo.environment["RAYBRIDGE_IT_WIDTH"] ?? "") ?? 3)

    /// The service scripts' `start` (and the head's `stop`), taken exclusively: each checks and
    /// starts one service, and two at once could both find it down and both start it.
    static let serviceStarts = AccessGate(width: 1)

    private let width: Int
    private var sharedHolders = 0
    private var exclusiveHeld = false
    private var queue: [(kind: Kind, resume: CheckedContinuation<Void, Never>)] = []

    init(width: Int) {
        self.width = max(1, width)
    }

    func holding<T: Sendable>(_ kind: Kind, _ body: @Sendable () async throws -> T) async throws -> T {
        await acquire(kind)
        do {
            let result = try await body()
            release(kind)
            return result
        } catch {
            release(kind)
            throw error
        }
    }

    private func acquire(_ kind: Kind) async {
        if queue.isEmpty, admits(kind) {
            enter(kind)
            return
        }
        // Entered by `admitWaiting` before it resumes us, so no one can slip in between.
        await withCheckedContinuation { queue.append((kind, $0)) }
    }

    private func release(_ kind: Kind) {
        switch kind {
        case .shared: sharedHolders -= 1
        case .exclusive: exclusiveHeld = false
        }
        admitWaiting()
    }

    private func admitWaiting() {
        while let index = queue.firstIndex(where: { $0.kind == .exclusive }) ?? queue.indices.first, admits(queue[index].kind) {
            let next = queue.remove(at: index)
            enter(next.kind)
            next.resume.resume()
        }
    }

    private func admits(_ kind: Kind) -> Bool {
        switch kind {
        case .shared: !exclusiveHeld && sharedHolders < width && !queue.contains { $0.kind == .exclusive }
        case .exclusive: !exclusiveHeld && sharedHolders == 0
        }
    }

    private func enter(_ kind: Kind) {
        switch kind {
        case .shared: sharedHolders += 1
        case .exclusive: exclusiveHeld = true
        }
    }
}
