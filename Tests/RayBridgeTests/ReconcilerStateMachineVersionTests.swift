import Foundation
import Testing

@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

/// What the cluster's Ray release changes in the decisions.
@Suite struct ReconcilerStateMachineVersionTests {
    typealias M = TestMachine
    typealias T = ReconcilerStateMachineTests
    static let selector = ["jobproperties": #"{"entrypoint_label_selector": {"zone": "a"}}"#]

    @Test func theVersionIsReadBeforeAnythingElseAndShownInTheStatus() {
        var m = M(jobName: "job", journal: Journal(jobName: "job"))
        #expect(m.configChanged(T.config()) == .readVersion(T.rayURL))
        guard case .submit = m.versionRead(RayVersion("2.40.0"), at: T.rayURL) else { Issue.record("submit expected"); return }
        #expect(m.status.rayVersion == "2.40.0")
    }

    @Test func aFieldTheClusterLacksIsInvalidNamingKeyAndVersionAndNothingIsSent() {
        var m = M(jobName: "job", journal: Journal(jobName: "job"))
        #expect(m.configChanged(T.config(Self.selector)) == .readVersion(T.rayURL))
        #expect(m.versionRead(RayVersion(2, 40, 0), at: T.rayURL) == .none)
        #expect(m.status.jobStatus == .invalid)
        #expect(m.status.message.contains("jobproperties: entrypoint_label_selector needs Ray 2.54.0"))
        #expect(m.status.message.contains("runs Ray 2.40.0"))
        #expect(m.journal.runs.isEmpty)
    }

    @Test func anEditAskingForWhatTheClusterLacksLeavesTheRunningJobAlone() {
        var m = T.connected(M(jobName: "job", journal: Journal(jobName: "job")), version: RayVersion(2, 47, 1))
        guard case .submit(let run, _) = m.configChanged(T.config()) else { Issue.record("submit"); return }
        #expect(m.submitted(at: Date()) == .fetch(submissionId: run.submissionId))
        #expect(m.observed(T.details(run.submissionId, .running)) == .sleep(.seconds(1)))
        // The edit would need a stop and a new submission; the cluster cannot run it.
        #expect(m.configChanged(T.config(Self.selector)) == .fetch(submissionId: run.submissionId))
        #expect(m.observed(T.details(run.submissionId, .running)) == .sleep(.seconds(2)), "no stop: the poll goes on")
        #expect(m.status.jobStatus == .invalid)
        #expect(m.status.message.contains("is left as it is"))
        // Reverting the edit: back to monitoring, nothing new.
        #expect(m.configChanged(T.config()) == .fetch(submissionId: run.submissionId))
        #expect(m.observed(T.details(run.submissionId, .succeeded)) == .none)
        #expect(m.status.jobStatus == .succeeded)
        #expect(m.journal.runs.count == 1)
    }

    @Test func aNewerClusterTakesTheSameSpec() {
        var m = M(jobName: "job", journal: Journal(jobName: "job"))
        _ = m.configChanged(T.config(Self.selector))
        guard case .submit = m.versionRead(RayVersion(2, 54, 0), at: T.rayURL) else { Issue.record("submit expected"); return }
        var unknown = M(jobName: "job", journal: Journal(jobName: "job"))
        _ = unknown.configChanged(T.config(Self.selector))
        guard case .submit = unknown.versionRead(nil, at: T.rayURL) else { Issue.record("an unknown version is the newest"); return }
    }

    @Test func anotherResourceURLIsAnotherClusterWhoseVersionIsReadFirst() {
        var m = T.connected(M(jobName: "job", journal: Journal(jobName: "job")))
        guard case .submit(let run, _) = m.configChanged(T.config()) else { Issue.record("submit"); return }
        _ = m.submitted(at: Date())
        _ = m.observed(T.details(run.submissionId, .running))
        let other = URL(string: "http://other:8265")!
        #expect(m.configChanged(T.config(["resourceURL": "http://other:8265"])) == .readVersion(other))
    }
}

/// A burst of edits: only the running revision and the newest are ever acted on.
@Suite struct ReconcilerStateMachineBurstTests {
    typealias M = TestMachine
    typealias T = ReconcilerStateMachineTests

    @Test func aBurstOfEditsSubmitsOnlyTheNewestOnceTheyPause() {
        var m = T.fresh()
        let t0 = ContinuousClock.now
        guard case .submit(let first, _) = m.configChanged(T.config(), at: t0) else { Issue.record("a single edit submits at once"); return }
        _ = m.submitted(at: Date())
        _ = m.observed(T.details(first.submissionId, .running))
        // 500 edits, 6 ms apart: the first stops the running run, none is submitted meanwhile.
        var actions: [M.Step] = []
        var time = t0
        for i in 1...500 {
            time = t0 + .milliseconds(100 + 6 * i)
            actions.append(m.configChanged(T.config(["resubmit": "\(i)"]), at: time))
            if case .stop = actions.last { actions.append(m.stopSent()) }
            if case .fetch(let id) = actions.last { actions.append(m.observed(T.details(id, .stopped))) }
        }
        #expect(actions.filter { if case .submit = $0 { true } else { false } }.isEmpty, "nothing submitted during the burst")
        #expect(actions.filter { if case .stop = $0 { true } else { false } }.count == 1)
        // The wait ends a settle window after the last edit, and the newest is submitted.
        #expect(m.wakeup(at: time + .milliseconds(500)) == .sleep(.milliseconds(500)))
        guard case .submit(let newest, let spec) = m.wakeup(at: time + M.settleWindow) else { Issue.record("the newest is submitted"); return }
        #expect(spec.revision == T.revision(["resubmit": "500"]))
        #expect(newest.sequence == 2)
    }

    @Test func editsFarApartAreEachActedOnAtOnce() {
        var m = T.fresh()
        let t0 = ContinuousClock.now
        guard case .submit = m.configChanged(T.config(), at: t0) else { Issue.record("submit"); return }
        _ = m.requestFailed(.rejected(status: 400, body: "no"))
        guard case .submit = m.configChanged(T.config(["resubmit": "1"]), at: t0 + .seconds(2)) else {
            Issue.record("an edit 2 s later submits at once"); return
        }
    }
}
