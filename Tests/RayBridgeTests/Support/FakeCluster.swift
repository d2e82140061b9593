import Foundation
import NIOCore

@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

/// A Ray cluster in memory for the reconciler's loop: it takes submissions, answers reads and stops,
/// and keeps each run's driver log, which the test appends to. It is both what the loop calls
/// (`RayCalling`) and what the log followers read (`RayJobsReading`). Follow streams replay the
/// log from byte 0 and then get what is appended, until the test closes them (Ray's never close).
actor FakeCluster: RayCalling, RayJobsReading {
    struct Run {
        var details: RayJobDetails
        var log = ByteBuffer()
    }

    private(set) var runs: [String: Run] = [:]
    /// Every submission Ray accepted, in order.
    private(set) var submissions: [String] = []
    /// Every run deleted, in order.
    private(set) var deleted: [String] = []
    /// Every request the loop made, in order.
    private(set) var requests: [RayRequest] = []
    private var live: [String: [AsyncThrowingStream<ByteBuffer, any Error>.Continuation]] = [:]
    var version: RayVersion? = RayVersion(2, 60, 0)
    /// Wall time, in step with the test's clock.
    let date: @Sendable () -> Date
    /// What a new run does by itself: RUNNING at once (the test ends it).
    var startsRunning = true

    let jobName: String

    init(jobName: String = "job", date: @escaping @Sendable () -> Date) {
        self.jobName = jobName
        self.date = date
    }

    var stops: [String] { requests.compactMap { if case .stop(let id, _) = $0 { id } else { nil } } }

    // MARK: The test's hand

    func set(_ id: String, _ status: RayJobStatus, message: String? = nil) {
        guard runs[id] != nil else { return }
        runs[id]!.details.status = status
        if let message { runs[id]!.details.message = message }
        if status.isTerminal { runs[id]!.details.endTime = Self.ms(date()) }
    }

    func append(_ id: String, _ text: String) {
        runs[id]?.log.writeString(text)
        for stream in live[id] ?? [] { stream.yield(ByteBuffer(string: text)) }
    }

    func log(_ id: String) -> String {
        runs[id].map { String(buffer: $0.log) } ?? ""
    }

    /// A head restarted without persistence: the run is gone.
    func forget(_ id: String) {
        runs[id] = nil
        for stream in live[id] ?? [] { stream.finish(throwing: RayClientError.notFound(what: "job")) }
        live[id] = nil
    }

    /// A run put there by an earlier process (a restart's recovery, or a POST that did go out).
    func add(_ id: String, status: RayJobStatus, metadata: [String: String]) {
        var details = RayJobDetails(submissionId: id, status: status, startTime: Self.ms(date()), metadata: metadata)
        details.driverNodeId = "node-1"
        runs[id] = Run(details: details)
    }

    // MARK: RayCalling

    func perform(_ request: RayRequest) async -> RayReply {
        requests.append(request)
        switch request {
        case .readVersion:
            return .version(version)
        case .listJobs:
            return .jobs(runs.values.map(\.details).sorted { ($0.submissionId ?? "") < ($1.submissionId ?? "") })
        case .fetch(let id, _):
            guard let run = runs[id] else { return .failed(.notFound(what: "job")) }
            return .job(run.details)
        case .submit(let record, let spec):
            let id = record.submissionId
            if runs[id] != nil { return .failed(.duplicateSubmission(id: id)) }
            add(
                id, status: startsRunning ? .running : .pending,
                metadata: [
                    "raybridge.job": jobName,
                    "raybridge.revision": spec.revision.hex, "raybridge.sequence": "\(record.sequence ?? 0)",
                    "raybridge.attempt": "\(record.attemptNumber)",
                ])
            submissions.append(id)
            return .submitted(at: date())
        case .delete(let id, _):
            guard let run = runs[id] else { return .failed(.notFound(what: "job")) }
            guard run.details.status.isTerminal else { return .failed(.server(status: 500, body: "Job \(id) is not in a terminal state")) }
            runs[id] = nil
            deleted.append(id)
            return .deleted
        case .stop(let id, _):
            guard let run = runs[id] else { return .failed(.notFound(what: "job")) }
            let wasRunning = !run.details.status.isTerminal
            if wasRunning { set(id, .stopped) }
            return .stopSent(wasRunning: wasRunning)
        }
    }

    // MARK: RayJobsReading

    func job(_ submissionId: String) async throws(RayClientError) -> RayJobDetails {
        guard let run = runs[submissionId] else { throw .notFound(what: "job") }
        return run.details
    }

    func streamDriverLog(
        nodeId: String, submissionId: String, following: Duration?, framing: RayLogFraming
    ) async throws(RayClientError) -> DriverLogBody {
        guard let run = runs[submissionId] else { throw .notFound(what: "job") }
        let (stream, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        if run.log.readableBytes > 0 { continuation.yield(run.log) }
        if following != nil { live[submissionId, default: []].append(continuation) } else { continuation.finish() }
        return DriverLogBody(chunks: stream)
    }

    func driverLogFromJobAPI(submissionId: String) async throws(RayClientError) -> DriverLogBody {
        guard let run = runs[submissionId] else { throw .notFound(what: "job") }
        let (stream, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        continuation.yield(run.log)
        continuation.finish()
        return DriverLogBody(chunks: stream)
    }

    private static func ms(_ date: Date) -> Int64 { Int64(date.timeIntervalSince1970 * 1000) }
}
