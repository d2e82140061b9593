import Foundation
import Testing

@testable import RayBridgeCore

@Suite struct JournalStoreTests {
    @Test func aJournalSurvivesARoundTripThroughItsFile() throws {
        let dir = NSTemporaryDirectory() + "raybridge-journal-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let store = JournalStore(statusDirectory: dir)
        #expect(try store.load() == nil)
        let run = RunRecord(
            submissionId: "job-1-abcdef12", revision: Revision(hex: "abcdef12"), sequence: 1, submitted: true,
            submittedAt: Date(timeIntervalSince1970: 1_800_000_000), stopRequested: false)
        let journal = Journal(jobName: "job", nextSequence: 2, runs: [run], currentId: run.submissionId)
        try store.save(journal)
        #expect(try store.load() == journal)
    }

    /// The submission time keeps its milliseconds: after a restart `activeDeadlineSeconds` counts
    /// from it, and whole seconds made the deadline up to a second early (Ray stopped a 5 s run
    /// after 4.89 s). A journal of an earlier release, in whole seconds, still loads.
    @Test func submissionTimesKeepTheirMillisecondsAndWholeSecondsStillLoad() throws {
        let dir = NSTemporaryDirectory() + "raybridge-journal-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let store = JournalStore(statusDirectory: dir)
        let sent = Date(timeIntervalSince1970: 1_800_000_000.625)
        var run = RunRecord(
            submissionId: "job-1-abcdef12", revision: Revision(hex: "abcdef12"), sequence: 1, submitted: true, submittedAt: sent,
            stopRequested: false)
        run.endedAt = Date(timeIntervalSince1970: 1_800_000_005.25)
        try store.save(Journal(jobName: "job", nextSequence: 2, runs: [run], currentId: run.submissionId))
        let text = try String(contentsOfFile: store.path, encoding: .utf8)
        #expect(text.contains("2027-01-15T08:00:00.625Z"), "\(text)")
        let loaded = try #require(try store.load()?.runs.first)
        #expect(abs(try #require(loaded.submittedAt).timeIntervalSince(sent)) < 0.001)
        #expect(abs(try #require(loaded.endedAt).timeIntervalSince1970 - 1_800_000_005.25) < 0.001)

        try Data(text.replacingOccurrences(of: "08:00:00.625Z", with: "08:00:00Z").utf8).write(to: URL(fileURLWithPath: store.path))
        #expect(try store.load()?.runs.first?.submittedAt == Date(timeIntervalSince1970: 1_800_000_000))
    }

    /// A journal written before retries existed (no attempt, outcome, end or reason) still loads.
    @Test func aJournalOfAnEarlierReleaseLoads() throws {
        let old =
            #"{"version":1,"jobName":"job","nextSequence":2,"currentId":"job-1-abcdef12","#
            + #""runs":[{"submissionId":"job-1-abcdef12","revision":{"hex":"abcdef12"},"sequence":1,"submitted":true,"stopRequested":false}]}"#
        let journal = try JSONDecoder().decode(Journal.self, from: Data(old.utf8))
        #expect(journal.runs.first?.attemptNumber == 1)
        #expect(journal.runs.first?.outcome == nil)
    }

    @Test func theLifecycleFieldsSurviveARoundTrip() throws {
        var run = RunRecord(submissionId: "job-2-abcdef12", revision: Revision(hex: "abcdef12"), sequence: 2, submitted: true, attempt: 2)
        run.outcome = .stopped
        run.endedAt = Date(timeIntervalSince1970: 1_800_000_010)
        run.reason = .deadlineExceeded
        let journal = Journal(jobName: "job", nextSequence: 3, runs: [run], currentId: run.submissionId)
        #expect(try JSONDecoder().decode(Journal.self, from: try JSONEncoder().encode(journal)) == journal)
        #expect(run.outcomeText == "DeadlineExceeded")
    }
}
