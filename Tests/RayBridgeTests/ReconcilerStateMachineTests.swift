import Foundation
import Testing

@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

/// The decisions, without any network: each test feeds events and checks the action returned.
@Suite struct ReconcilerStateMachineTests {
    typealias M = TestMachine
    static let parser = ConfigMapParser(jobName: "job")
    static let base = ["resourceURL": "http://127.0.0.1:8265", "jobdata.jobScript": "print(1)", "updateInterval": "5"]

    static func config(_ extra: [String: String] = [:]) -> ConfigParseResult {
        parser.parse(base.merging(extra) { $1 })
    }

    static func revision(_ extra: [String: String] = [:]) -> Revision {
        config(extra).spec!.revision
    }

    static func id(_ seq: Int, _ extra: [String: String] = [:]) -> String {
        RunRecord.submissionId(jobName: "job", sequence: seq, revision: revision(extra))
    }

    static func details(_ id: String, _ status: RayJobStatus, _ extra: [String: String] = [:], seq: Int = 1) -> RayJobDetails {
        RayJobDetails(
            submissionId: id, status: status,
            metadata: [
                "raybridge.job": "job", "raybridge.revision": revision(extra).hex, "raybridge.sequence": "\(seq)",
            ])
    }

    func submitted(_ m: inout M, _ extra: [String: String] = [:]) -> (RunRecord, M.Step) {
        guard case .submit(let run, _) = m.configChanged(Self.config(extra)) else {
            Issue.record("expected a submit")
            return (RunRecord(submissionId: "", revision: nil, sequence: nil, submitted: false), .none)
        }
        return (run, m.submitted(at: Date()))
    }

    static let rayURL = URL(string: "http://127.0.0.1:8265")!

    /// A machine whose cluster has told its version already (most tests are about what follows).
    static func connected(_ machine: M, version: RayVersion? = RayVersion(2, 60, 0)) -> M {
        machine.connected(rayURL, version)
    }

    /// A journal that exists (not a new pod), so no recovery listing is done first.
    static func fresh(exit: Bool = false) -> M { Self.connected(M(jobName: "job", journal: Journal(jobName: "job"), exitOnCompletion: exit)) }

    @Test func newPodWithoutJournalListsTheClusterFirst() {
        var m = Self.connected(M(jobName: "job", journal: nil))
        #expect(m.configChanged(Self.config()) == .recover)
        guard case .submit(let run, _) = m.recovered([]) else { Issue.record("submit expected"); return }
        #expect(run.submissionId == Self.id(1))
        #expect(run.submitted == false)
        #expect(m.journal.runs.map(\.submissionId) == [Self.id(1)], "the intent is in the journal before the POST")
    }

    @Test func recoveryAttachesToTheNewestRunOfTheRevisionInsteadOfSubmitting() {
        var m = Self.connected(M(jobName: "job", journal: nil))
        _ = m.configChanged(Self.config())
        let jobs = [
            Self.details(Self.id(1), .succeeded, seq: 1),
            Self.details(Self.id(2, ["resubmit": "x"]), .succeeded, ["resubmit": "x"], seq: 2),
            RayJobDetails(submissionId: "other-job-1-aaaa", status: .running, metadata: ["raybridge.job": "other"]),
        ]
        // The newest run (seq 2) is of another revision and terminal; revision of seq 1 is wanted and exists.
        #expect(m.recovered(jobs) == .fetch(submissionId: Self.id(2, ["resubmit": "x"])))
        #expect(m.observed(Self.details(Self.id(2, ["resubmit": "x"]), .succeeded, ["resubmit": "x"], seq: 2)) == .fetch(submissionId: Self.id(1)))
        #expect(m.observed(Self.details(Self.id(1), .succeeded)) == .none)
        #expect(m.journal.nextSequence == 3)
        #expect(m.status.jobStatus == .succeeded)
    }

    @Test func recoveryStopsARunningOlderRevisionThenSubmits() {
        var m = Self.connected(M(jobName: "job", journal: nil))
        _ = m.configChanged(Self.config(["resubmit": "new"]))
        #expect(m.recovered([Self.details(Self.id(1), .running)]) == .fetch(submissionId: Self.id(1)))
        #expect(m.observed(Self.details(Self.id(1), .running)) == .stop(submissionId: Self.id(1)))
        #expect(m.stopSent() == .sleep(M.stopPollInterval))
        #expect(m.wakeup() == .fetch(submissionId: Self.id(1)))
        guard case .submit(let run, _) = m.observed(Self.details(Self.id(1), .stopped)) else { Issue.record("submit expected"); return }
        #expect(run.submissionId == Self.id(2, ["resubmit": "new"]))
    }

    @Test func submitThenPollRampsUpToTheInterval() {
        var m = Self.fresh()
        let (run, next) = submitted(&m)
        #expect(run.submissionId == "job-1-\(Self.revision().short)")
        #expect(next == .fetch(submissionId: run.submissionId))
        #expect(m.status.jobStatus == .submitted)
        #expect(m.observed(Self.details(run.submissionId, .pending)) == .sleep(.seconds(1)))
        #expect(m.wakeup() == .fetch(submissionId: run.submissionId))
        #expect(m.observed(Self.details(run.submissionId, .running)) == .sleep(.seconds(2)))
        #expect(m.wakeup() == .fetch(submissionId: run.submissionId))
        #expect(m.observed(Self.details(run.submissionId, .running)) == .sleep(.seconds(4)))
        #expect(m.wakeup() == .fetch(submissionId: run.submissionId))
        #expect(m.observed(Self.details(run.submissionId, .running)) == .sleep(.seconds(5)))
        #expect(m.status.jobStatus == .running)
        #expect(m.wakeup() == .fetch(submissionId: run.submissionId))
        #expect(m.observed(Self.details(run.submissionId, .succeeded)) == .none)
        #expect(m.status.jobStatus == .succeeded)
        // Nothing changes: nothing is submitted again.
        #expect(m.configChanged(Self.config()) == .none)
        #expect(m.configChanged(Self.config(["updateInterval": "9"])) == .none)
    }

    @Test func editWhileRunningStopsWaitsAndSubmitsTheNewRevision() {
        var m = Self.fresh()
        let (run, _) = submitted(&m)
        _ = m.observed(Self.details(run.submissionId, .running))
        let edit = ["jobdata.jobParameters": "{\"x\": 2}"]
        #expect(m.configChanged(Self.config(edit)) == .stop(submissionId: run.submissionId))
        #expect(m.stopSent() == .sleep(M.stopPollInterval))
        #expect(m.wakeup() == .fetch(submissionId: run.submissionId))
        #expect(m.observed(Self.details(run.submissionId, .running)) == .sleep(M.stopPollInterval))
        #expect(m.wakeup() == .fetch(submissionId: run.submissionId))
        guard case .submit(let second, _) = m.observed(Self.details(run.submissionId, .stopped)) else { Issue.record("submit expected"); return }
        #expect(second.submissionId == Self.id(2, edit))
        #expect(second.sequence == 2)
    }

    /// The new revision is never submitted while the run it replaces may still run: the stop is
    /// sent again every `stopResendPolls` polls, and polling slows down after `stopWaitPolls`.
    @Test func aStopThatNeverTakesEffectIsSentAgainAndTheNewRevisionWaits() {
        var m = Self.fresh()
        let (run, _) = submitted(&m)
        _ = m.observed(Self.details(run.submissionId, .running))
        _ = m.configChanged(Self.config(["resubmit": "1"]))
        _ = m.stopSent()
        var stops = 0
        var sleeps: Set<Duration> = []
        for _ in 0..<(3 * M.stopWaitPolls) {
            switch m.wakeup() {
            case .fetch(let id):
                #expect(id == run.submissionId)
                if case .sleep(let d) = m.observed(Self.details(run.submissionId, .running)) {
                    sleeps.insert(d)
                } else {
                    Issue.record("expected a sleep")
                }
            case .stop(let id):
                #expect(id == run.submissionId)
                stops += 1
                _ = m.stopSent()
            case let other:
                Issue.record("unexpected \(other)")
                return
            }
        }
        #expect(stops == 3 * M.stopWaitPolls / M.stopResendPolls)
        #expect(sleeps == [M.stopPollInterval, M.stopSlowPollInterval])
        #expect(m.status.message.contains("stopping run \(run.submissionId) for the new revision"))
        #expect(m.journal.runs.count == 1, "nothing new was submitted")
        _ = m.wakeup()
        guard case .submit = m.observed(Self.details(run.submissionId, .stopped)) else { Issue.record("submit once it stopped"); return }
    }

    @Test func aStopThatFailsIsSentAgainAfterTheBackoff() {
        var m = Self.fresh()
        let (run, _) = submitted(&m)
        _ = m.observed(Self.details(run.submissionId, .running))
        #expect(m.configChanged(Self.config(["kill": "true"])) == .stop(submissionId: run.submissionId))
        #expect(m.requestFailed(.server(status: 503, body: "Service Unavailable")) == .sleep(.seconds(1)))
        #expect(m.wakeup() == .stop(submissionId: run.submissionId))
        #expect(m.requestFailed(.server(status: 503, body: "Service Unavailable")) == .sleep(.seconds(2)))
        #expect(m.wakeup() == .stop(submissionId: run.submissionId))
        #expect(m.stopSent() == .sleep(M.stopPollInterval))
    }

    @Test func aRunIsCheckedAndStoppedOnTheClusterItWasSubmittedTo() {
        var m = Self.fresh()
        let (run, _) = submitted(&m)
        _ = m.observed(Self.details(run.submissionId, .running))
        #expect(run.rayURL == Self.rayURL)
        let moved = Self.config(["resourceURL": "http://other:8265"])
        #expect(m.configChanged(moved) == .readVersion(URL(string: "http://other:8265")!))
        #expect(m.versionRead(RayVersion(2, 60, 0), at: URL(string: "http://other:8265")!) == .stop(submissionId: run.submissionId))
        #expect(m.lastAction.request == .stop(submissionId: run.submissionId, on: Self.rayURL), "the stop goes to the old cluster")
    }

    /// Third round: `kill` is KubeRay's `suspend`. Back to "false", the job runs again as a new
    /// submission, once; the same kill again stops that one.
    @Test func killStopsAndSettingItBackRunsTheJobAgainOnce() {
        var m = Self.fresh()
        let (run, _) = submitted(&m)
        _ = m.observed(Self.details(run.submissionId, .running))
        #expect(m.configChanged(Self.config(["kill": "true"])) == .stop(submissionId: run.submissionId))
        _ = m.stopSent()
        _ = m.wakeup()
        #expect(m.observed(Self.details(run.submissionId, .stopped)) == .none)
        #expect(m.status.jobStatus == .stopped)
        #expect(m.status.message.contains("setting it to \"false\" runs the job again"))
        #expect(m.journal.runs.last?.killed == true, "a restart knows it was a kill")
        #expect(m.configChanged(Self.config(["kill": "true"])) == .none, "the same kill again does nothing")
        guard case .submit(let resumed, _) = m.configChanged(Self.config(["kill": "false"])) else {
            Issue.record("kill back to false runs the job again"); return
        }
        #expect(resumed.sequence == 2)
        #expect(resumed.attempt == 1)
        #expect(m.submitted(at: Date()) == .fetch(submissionId: resumed.submissionId))
        #expect(m.observed(Self.details(resumed.submissionId, .succeeded, seq: 2)) == .none)
        #expect(m.configChanged(Self.config(["kill": "false"])) == .none, "once")
        #expect(m.journal.runs.count == 2)
        // A restart after the resume's run ended: nothing more.
        var restarted = Self.connected(M(jobName: "job", journal: m.journal))
        #expect(restarted.configChanged(Self.config()) == .fetch(submissionId: resumed.submissionId))
        #expect(restarted.observed(Self.details(resumed.submissionId, .succeeded, seq: 2)) == .none)
    }

    /// A restart between the kill and its setting back: the journal says it was a kill.
    @Test func aKilledRunFromTheJournalRunsAgainWhenKillIsFalse() {
        var m = Self.fresh()
        let (run, _) = submitted(&m)
        _ = m.observed(Self.details(run.submissionId, .running))
        _ = m.configChanged(Self.config(["kill": "true"]))
        _ = m.stopSent()
        _ = m.wakeup()
        _ = m.observed(Self.details(run.submissionId, .stopped))
        var restarted = Self.connected(M(jobName: "job", journal: m.journal))
        #expect(restarted.configChanged(Self.config()) == .fetch(submissionId: run.submissionId))
        guard case .submit(let resumed, _) = restarted.observed(Self.details(run.submissionId, .stopped)) else {
            Issue.record("resumed after the restart"); return
        }
        #expect(resumed.sequence == 2)
    }

    @Test func killBeforeAnyRunSubmitsNothing() {
        var m = Self.fresh()
        #expect(m.configChanged(Self.config(["kill": "true"])) == .none)
        #expect(m.status.jobStatus == .waiting)
        guard case .submit = m.configChanged(Self.config()) else { Issue.record("submit once kill is false"); return }
    }

    @Test func invalidEditLeavesTheRunAloneButKeepsMonitoring() {
        var m = Self.fresh()
        let (run, _) = submitted(&m)
        #expect(m.observed(Self.details(run.submissionId, .running)) == .sleep(.seconds(1)))
        let bad = Self.parser.parse(Self.base.merging(["updateInterval": "often"]) { $1 })
        #expect(m.configChanged(bad) == .fetch(submissionId: run.submissionId))
        #expect(m.status.jobStatus == .invalid)
        #expect(m.status.message.contains("updateInterval"))
        #expect(m.status.submissionId == run.submissionId)
        #expect(m.observed(Self.details(run.submissionId, .running)) == .sleep(.seconds(2)))
        #expect(m.status.jobStatus == .invalid)
    }

    @Test func rayDownMeansWaitingWithBackoffAndAnEditRetriesAtOnce() {
        var m = Self.fresh()
        guard case .submit = m.configChanged(Self.config()) else { Issue.record("submit"); return }
        let down = RayClientError.unreachable(url: "http://127.0.0.1:8265", reason: "connection refused")
        #expect(m.requestFailed(down) == .sleep(.seconds(1)))
        #expect(m.status.jobStatus == .waiting)
        #expect(m.status.message.contains("unreachable"))
        // Ray was unreachable: its version is read again before anything else (it may have been
        // upgraded meanwhile), with the same backoff.
        #expect(m.wakeup() == .readVersion(Self.rayURL))
        #expect(m.requestFailed(down) == .sleep(.seconds(2)))
        #expect(m.wakeup() == .readVersion(Self.rayURL))
        #expect(m.requestFailed(down) == .sleep(.seconds(4)))
        for _ in 0..<10 { _ = m.wakeup(); _ = m.requestFailed(down) }
        #expect(m.wakeup() == .readVersion(Self.rayURL))
        #expect(m.requestFailed(down) == .sleep(M.backoff.maximum))
        #expect(m.wakeup() == .readVersion(Self.rayURL))
        // The intent may or may not have reached Ray: check before submitting again.
        #expect(m.versionRead(RayVersion(2, 60, 0), at: Self.rayURL) == .fetch(submissionId: Self.id(1)))
        guard case .submit(let run, _) = m.requestFailed(.notFound(what: "job")) else { Issue.record("resubmit the same id"); return }
        #expect(run.submissionId == Self.id(1), "the same deterministic id is used again")
    }

    @Test func duplicateSubmissionMeansAlreadySubmitted() {
        var m = Self.fresh()
        guard case .submit(let run, _) = m.configChanged(Self.config()) else { Issue.record("submit"); return }
        #expect(m.requestFailed(.duplicateSubmission(id: run.submissionId)) == .fetch(submissionId: run.submissionId))
        #expect(m.status.jobStatus == .submitted)
    }

    @Test func restartWithAnIntentInTheJournalChecksItFirst() {
        let revision = Self.revision()
        let intent = RunRecord(submissionId: Self.id(1), revision: revision, sequence: 1, submitted: false)
        var m = Self.connected(M(jobName: "job", journal: Journal(jobName: "job", nextSequence: 2, runs: [intent], currentId: intent.submissionId)))
        #expect(m.configChanged(Self.config()) == .fetch(submissionId: intent.submissionId))
        // It did reach Ray: attach, no second submission.
        #expect(m.observed(Self.details(intent.submissionId, .running)) == .sleep(.seconds(1)))
        #expect(m.journal.runs.first?.submitted == true)
    }

    @Test func rejectedSubmissionIsInvalidUntilTheNextEdit() {
        var m = Self.fresh()
        _ = m.configChanged(Self.config())
        #expect(m.requestFailed(.rejected(status: 400, body: "bad runtime_env")) == .none)
        #expect(m.status.jobStatus == .invalid)
        #expect(m.status.message.contains("bad runtime_env"))
        #expect(m.configChanged(Self.config()) == .none)
        guard case .submit(let run, _) = m.configChanged(Self.config(["resubmit": "fixed"])) else { Issue.record("submit after edit"); return }
        #expect(run.sequence == 1, "a rejected id is never used, so its sequence is reused")
    }

    @Test func attachModeMonitorsAndObeysKillButNeverSubmits() {
        var m = Self.fresh()
        let attach = ["id": "raysubmit_x", "jobdata.jobScript": ""]
        #expect(m.configChanged(Self.config(attach)) == .fetch(submissionId: "raysubmit_x"))
        #expect(m.observed(RayJobDetails(submissionId: "raysubmit_x", status: .running)) == .sleep(.seconds(1)))
        #expect(m.configChanged(Self.config(attach.merging(["kill": "true"]) { $1 })) == .stop(submissionId: "raysubmit_x"))
        _ = m.stopSent()
        _ = m.wakeup()
        #expect(m.observed(RayJobDetails(submissionId: "raysubmit_x", status: .stopped)) == .none)
        #expect(m.journal.runs.isEmpty)
    }

    @Test(arguments: [(RayJobStatus.succeeded, Int32(0)), (.failed, 1), (.stopped, 1)])
    func exitOnCompletion(status: RayJobStatus, code: Int32) {
        var m = Self.fresh(exit: true)
        let (run, _) = submitted(&m)
        #expect(m.observed(Self.details(run.submissionId, status)) == .exit(code: code))
    }

    @Test func unauthorizedIsRetriedWithAClearMessage() {
        var m = Self.fresh()
        _ = m.configChanged(Self.config())
        #expect(m.requestFailed(.unauthorized(status: 401, tokenSent: false)) == .sleep(.seconds(1)))
        #expect(m.status.jobStatus == .waiting)
        #expect(m.status.message.contains("requires a token"))
    }
}
