import Foundation
import RayBridgeClients
import RayBridgeCore

/// What to do next, given the desired spec and what Ray said; every event method ends here.
extension ReconcilerStateMachine {
    mutating func decide() -> Action {
        guard case .waiting(let wakeDue, let failures) = activity else { return .none }
        if failures != nil, !wakeDue {
            // Every request to Ray waits out the backoff after a failure.
            return .sleep(Self.backoff.delay(afterFailures: failures?.count ?? 1))
        }

        guard let spec = activeSpec else { return .none }
        // What the cluster understands decides what may be sent: learn it first.
        guard let cluster, cluster.url == spec.rayURL else {
            return start(.version, .readVersion(spec.rayURL))
        }
        // A spec the cluster cannot run is handled like an invalid one: the run is left alone.
        let wanted: JobSpec? = if case .valid(let s) = desired, s.unsupported(by: cluster.version).isEmpty { s } else { nil }

        if let id = wanted?.attachId {
            if phase.record?.submissionId != id {
                makeCurrent(RunRecord(submissionId: id, revision: nil, sequence: nil, submitted: true, rayURL: spec.rayURL))
            }
        } else if needsRecovery, wanted != nil {
            return start(.recover, .recover)
        }

        switch phase {
        case .intent(let run), .unread(let run):
            // Learn the current run's state before deciding anything about it.
            return start(.fetch, .fetch(submissionId: run.submissionId))
        case .stopping(let run, nil, _):
            return start(.fetch, .fetch(submissionId: run.submissionId))
        case .live(var run, let details, let polls):
            if wantsStop(run, wanted) || deadlinePassed(run) {
                // A stop for the deadline is recorded as such before it is sent: not retried,
                // reported FAILED, also if the process restarts before Ray says it stopped.
                if !wantsStop(run, wanted) { run.reason = .deadlineExceeded }
                run.stopRequested = true
                set(.stopping(run, details, polls: 0))
                return start(.stop, .stop(submissionId: run.submissionId))
            }
            return poll(run, every: untilDeadline(run).map { min($0, spec.updateInterval) } ?? spec.updateInterval, polls: polls)
        case .stopping(let run, let details?, let polls):
            guard wantsStop(run, wanted) else { return poll(run, every: spec.updateInterval, polls: polls) }
            // Wait for Ray to report the run terminal, asking again from time to time: a stop
            // that was lost (a proxy's 503, a restarted head) must not leave it running.
            guard consumeWake() else {
                return .sleep(polls < Self.stopWaitPolls ? Self.stopPollInterval : Self.stopSlowPollInterval)
            }
            set(.stopping(run, details, polls: polls + 1))
            if (polls + 1) % Self.stopResendPolls == 0 {
                return start(.stop, .stop(submissionId: run.submissionId))
            }
            return start(.fetch, .fetch(submissionId: run.submissionId))
        case .none, .ended:
            return next(wanted)
        }
    }

    /// No run is in the way: the wanted revision's run is current, or it is submitted.
    mutating func next(_ wanted: JobSpec?) -> Action {
        guard let want = wanted, want.attachId == nil else { return exitIfDone() }
        if let target = journal.runs.last(where: { $0.revision == want.revision }) {
            if phase.record?.submissionId != target.submissionId {
                makeCurrent(target)
                return decide()
            }
            if case .ended(let run, let details) = phase, let action = retry(run, details, want) { return action }
            return exitIfDone()
        }
        if want.kill { return .none }
        if rejected?.revision == want.revision { return .none }
        if let settleUntil, let now, now < settleUntil {
            // Edits are still coming: wait for them to pause, then run only the newest.
            return .sleep(settleUntil - now)
        }

        previousAttempt = nil
        return submitNew(want, attempt: 1)
    }

    /// The intent of a new submission (the next sequence number, so its own id) goes into the
    /// journal, then the POST.
    mutating func submitNew(_ want: JobSpec, attempt: Int) -> Action {
        let sequence = journal.nextSequence
        let run = RunRecord(
            submissionId: RunRecord.submissionId(jobName: jobName, sequence: sequence, revision: want.revision),
            revision: want.revision, sequence: sequence, submitted: false, rayURL: want.rayURL, attempt: attempt)
        journal.nextSequence = sequence + 1
        journal.runs.append(run)
        if journal.runs.count > Journal.maxRuns { journal.runs.removeFirst(journal.runs.count - Journal.maxRuns) }
        makeCurrent(run)
        rejected = nil
        return start(.submit, .submit(run, want))
    }

    /// A running run is stopped for `kill`, and for another revision (not in attach mode).
    func wantsStop(_ run: RunRecord, _ wanted: JobSpec?) -> Bool {
        if run.reason == .deadlineExceeded { return true }
        guard let wanted else { return false }
        return wanted.kill || (wanted.attachId == nil && wanted.revision != run.revision)
    }

    mutating func poll(_ run: RunRecord, every interval: Duration, polls: Int) -> Action {
        guard consumeWake() else {
            // Early transitions (SUBMITTED -> PENDING -> RUNNING) come fast: ramp 1 s, 2 s, 4 s... up to the interval.
            return .sleep(min(.seconds(1 << min(polls, 10)), interval))
        }
        switch phase {
        case .live(let run, let details, let polls): set(.live(run, details, polls: polls + 1))
        case .stopping(let run, let details, let polls): set(.stopping(run, details, polls: polls + 1))
        default: break
        }
        return start(.fetch, .fetch(submissionId: run.submissionId))
    }

    mutating func exitIfDone() -> Action {
        guard exitOnCompletion, case .ended(_, let details) = phase else { return .none }
        activity = .finished
        return .exit(code: details.status == .succeeded ? 0 : 1)
    }

    mutating func consumeWake() -> Bool {
        guard case .waiting(true, let failures) = activity else { return false }
        activity = .waiting(wakeDue: false, failures: failures)
        return true
    }

    mutating func start(_ request: Request, _ action: Action) -> Action {
        activity = .requesting(request, failures: activity.failures)
        return action
    }

    /// Another run becomes the one monitored; what was read about the previous one goes.
    mutating func makeCurrent(_ run: RunRecord) {
        phase = .of(run)
        if run.revision != nil { journal.currentId = run.submissionId }
    }

    /// The current run moves on; the journal keeps its record in step.
    mutating func set(_ next: RunPhase) {
        phase = next
        if case .ended(let run, let details) = next { phase = .ended(withOutcome(run, details), details) }
        guard let run = phase.record, let i = journal.runs.firstIndex(where: { $0.submissionId == run.submissionId }) else { return }
        journal.runs[i] = run
    }
}
