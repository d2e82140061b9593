import Foundation
import Testing

@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

/// Drives a `ReconcilerStateMachine` in the decision tables' shorthand: each event returns the one
/// `Step` its action asks for (the request, the wait, or the exit), and an answer goes to whatever
/// request is in flight, as the loop would send it. Time moves only when a test says so; an edit
/// without a time comes 10 s after the last event (never part of a burst).
struct TestMachine {
    typealias Machine = ReconcilerStateMachine

    /// What an action asks for, in the order the tables care about.
    enum Step: Equatable, CustomStringConvertible {
        case none
        case sleep(Duration)
        case readVersion(URL)
        case recover
        case fetch(submissionId: String)
        case submit(RunRecord, JobSpec)
        case stop(submissionId: String)
        case exit(code: Int32)

        var description: String {
            switch self {
            case .none: "none"
            case .sleep(let d): "sleep(\(d))"
            case .readVersion(let url): "readVersion(\(url))"
            case .recover: "recover"
            case .fetch(let id): "fetch(\(id))"
            case .submit(let run, _): "submit(\(run.submissionId))"
            case .stop(let id): "stop(\(id))"
            case .exit(let code): "exit(\(code))"
            }
        }
    }

    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static let stopPollInterval = Machine.stopPollInterval
    static let stopSlowPollInterval = Machine.stopSlowPollInterval
    static let stopWaitPolls = Machine.stopWaitPolls
    static let stopResendPolls = Machine.stopResendPolls
    static let settleWindow = Machine.settleWindow
    static let backoff = Machine.backoff
    static let retryBackoff = Machine.retryBackoff

    var machine: Machine
    var now: Machine.Moment
    /// The request the last action sent, until it is answered.
    private(set) var inFlight: RayRequest?
    /// Every action so far, newest last.
    private(set) var actions: [Machine.Action] = []
    /// A version to answer the first `.readVersion` of this URL with, as if it had been read.
    private var knownVersion: (URL, RayVersion?)?
    private var base: ContinuousClock.Instant?

    init(
        jobName: String, journal: Journal?, exitOnCompletion: Bool = false, stopOnExit: Bool = false, driverLogStdout: Bool = false,
        leftovers: [LeftoverUpload] = []
    ) {
        now = Machine.Moment(elapsed: .zero, date: Self.t0)
        machine = Machine(
            configuration: .init(jobName: jobName, exitOnCompletion: exitOnCompletion, stopOnExit: stopOnExit, driverLogStdout: driverLogStdout),
            journal: journal,
            leftovers: leftovers, at: now)
        actions.append(machine.started(at: now))
    }

    /// The cluster at `url` has told its version already: most tables are about what follows.
    func connected(_ url: URL, _ version: RayVersion?) -> TestMachine {
        var m = self
        m.knownVersion = (url, version)
        return m
    }

    var journal: Journal { machine.journal }
    var status: StatusSnapshot { machine.status }
    var currentRun: (run: RunRecord, details: RayJobDetails?)? { machine.currentRun }
    var lastAction: Machine.Action { actions.last ?? .none }
    /// Every log order so far, oldest first.
    var logOrders: [Machine.LogOrder] { actions.flatMap(\.logs) }

    // MARK: Events

    mutating func configChanged(_ result: ConfigParseResult, at instant: ContinuousClock.Instant? = nil, date: Date? = nil) -> Step {
        move(instant, date, defaultStep: .seconds(10))
        return step(machine.configChanged(result, at: now))
    }

    mutating func wakeup(at instant: ContinuousClock.Instant? = nil, date: Date? = nil) -> Step {
        move(instant, date)
        return step(machine.timerFired(at: now))
    }

    mutating func noticed(_ details: RayJobDetails, at date: Date? = nil) -> Step {
        move(nil, date)
        return step(machine.noticed(details, at: now))
    }

    mutating func shutdown(date: Date? = nil) -> Step {
        move(nil, date)
        return step(machine.shutdown(at: now))
    }

    mutating func shipmentEnded(_ id: String, complete: Bool) -> Step {
        step(machine.shipmentEnded(id, complete: complete, at: now))
    }

    mutating func logProgress(_ id: String, _ shipment: StatusSnapshot.LogShipment) -> Step {
        step(machine.logProgress(id, shipment, at: now))
    }

    // MARK: Answers, to the request in flight

    mutating func versionRead(_ version: RayVersion?, at url: URL) -> Step {
        answer(.version(version), expecting: .readVersion(url))
    }

    mutating func recovered(_ jobs: [RayJobDetails]) -> Step { answer(.jobs(jobs)) }

    mutating func observed(_ details: RayJobDetails, at date: Date? = nil) -> Step {
        move(nil, date)
        return answer(.job(details))
    }

    mutating func submitted(at date: Date) -> Step {
        answer(.submitted(at: date))
    }

    mutating func stopSent() -> Step { answer(.stopSent(wasRunning: true)) }

    mutating func requestFailed(_ error: RayClientError, at date: Date? = nil) -> Step {
        move(nil, date)
        return answer(.failed(error))
    }

    mutating func preparationFailed(_ message: String, retryable: Bool) -> Step {
        answer(.notPrepared(SubmissionPreparationError(message: message, retryable: retryable)))
    }

    mutating func answerInFlight(_ reply: RayReply) -> Step { answer(reply) }

    private mutating func answer(_ reply: RayReply, expecting expected: RayRequest? = nil) -> Step {
        if inFlight == nil, case .job = reply {
            // Ray's word on a run comes as the answer to a poll: the poll's wait is over first.
            _ = step(machine.timerFired(at: now))
        }
        guard let request = inFlight else {
            Issue.record("an answer with no request in flight")
            return .none
        }
        if let expected, expected != request { Issue.record("the request in flight is \(request), not \(expected)") }
        inFlight = nil
        return step(machine.answered(request, reply, at: now))
    }

    private mutating func move(_ instant: ContinuousClock.Instant?, _ date: Date?, defaultStep: Duration = .zero) {
        if let instant {
            let base = self.base ?? instant
            self.base = base
            now.elapsed = instant - base
        } else {
            now.elapsed += defaultStep
        }
        if let date { now.date = date }
    }

    private mutating func step(_ action: Machine.Action) -> Step {
        actions.append(action)
        if let request = action.request {
            inFlight = request
            if case .readVersion(let url) = request, let (known, version) = knownVersion, known == url {
                knownVersion = nil
                return answer(.version(version))
            }
        }
        if case .completed(let code) = action.exit { return .exit(code: code) }
        switch action.request {
        case .readVersion(let url): return .readVersion(url)
        case .listJobs: return .recover
        case .fetch(let id, _): return .fetch(submissionId: id)
        case .submit(let run, let spec): return .submit(run, spec)
        case .stop(let id, _): return .stop(submissionId: id)
        case .delete: return .none
        case nil: break
        }
        if case .arm(let duration) = action.timer { return .sleep(duration) }
        return .none
    }
}
