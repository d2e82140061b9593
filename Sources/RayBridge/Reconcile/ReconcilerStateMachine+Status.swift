import Foundation
import RayBridgeClients
import RayBridgeCore

extension ReconcilerStateMachine {
    public var status: StatusSnapshot {
        var s: StatusSnapshot
        let retry = activity.failures.map { "\($0.message) (attempt \($0.count), retrying)" }
        let details = phase.details
        switch desired {
        case .unknown:
            s = StatusSnapshot(jobStatus: .waiting, message: "reading the ConfigMap")
        case .invalid(let problems):
            s = invalid(problems)
        case .valid(let spec):
            let unsupported = cluster.map { spec.unsupported(by: $0.version) } ?? []
            if !unsupported.isEmpty {
                s = invalid(unsupported)
            } else if case .stopping(let run, let details?, _) = phase, !spec.kill, spec.attachId == nil, run.revision != spec.revision {
                s = StatusSnapshot(
                    jobStatus: JobState(details.status),
                    message: retry ?? "stopping run \(run.submissionId) for the new revision, which is submitted once Ray reports it ended")
            } else if let details {
                s = StatusSnapshot(jobStatus: JobState(details.status), message: retry ?? details.message ?? "")
            } else if let rejected, rejected.revision == spec.revision {
                s = StatusSnapshot(jobStatus: .invalid, message: rejected.message)
            } else if phase.isSubmitted {
                s = StatusSnapshot(jobStatus: .submitted, message: retry ?? "")
            } else if let retry {
                s = StatusSnapshot(jobStatus: .waiting, message: retry)
            } else if spec.kill {
                s = StatusSnapshot(jobStatus: .waiting, message: "kill is \"true\": nothing is submitted")
            } else {
                s = StatusSnapshot(jobStatus: .waiting, message: "submitting")
            }
            s.revision = spec.revision.hex
            if s.jobStatus != .invalid { lifecycle(&s, spec, retrying: retry != nil) }
        }
        if let run = phase.record {
            s.submissionId = run.submissionId
            s.submitTime = run.submittedAt
            s.runRevision = run.revision?.hex
            s.sequence = run.sequence
        }
        s.rayVersion = cluster?.version?.text
        if let details {
            s.rayStatus = details.status.rawValue
            s.startTime = details.startTime
            s.endTime = details.endTime
            s.errorType = details.errorType
            s.driverExitCode = details.driverExitCode
        }
        return s
    }

    /// The cluster a run lives on: where it was submitted, whatever `resourceURL` says now.
    public func clusterURL(of submissionId: String) -> URL? {
        guard let run = phase.record, run.submissionId == submissionId else { return activeSpec?.rayURL }
        return run.rayURL ?? activeSpec?.rayURL
    }

    /// The run being monitored, with its last observed state.
    public var currentRun: (run: RunRecord, details: RayJobDetails?)? {
        phase.record.map { ($0, phase.details) }
    }

    /// Whether the current run goes on without us at a shutdown with `--stop-on-exit` (not terminal).
    public var currentRunMayBeLive: Bool {
        phase.isSubmitted && !phase.isEnded
    }

    /// The run whose driver log is followed. With S3 every submitted run's log is shipped until its
    /// object is complete (also after the run ended: an attach, a restart); without, the log is
    /// followed only to notice the end of a live run quickly, and discarded.
    public var logFollow: LogFollowPlan? {
        guard let spec = activeSpec, let cluster, let run = phase.record, phase.isSubmitted else { return nil }
        if spec.s3 == nil, phase.isEnded { return nil }
        let url = run.rayURL ?? spec.rayURL
        let version = url == cluster.url ? cluster.version : releases[url]
        return LogFollowPlan(submissionId: run.submissionId, rayURL: url, rayVersion: version, ship: spec.s3)
    }

    /// Problems with the ConfigMap (or what the cluster lacks for it): the run goes on untouched.
    private func invalid(_ problems: [ConfigProblem]) -> StatusSnapshot {
        let note = phase.record.map { "\nrun \($0.submissionId) is left as it is" } ?? ""
        return StatusSnapshot(jobStatus: .invalid, message: problems.summary + note)
    }
}
