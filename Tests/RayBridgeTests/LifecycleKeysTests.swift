import Foundation
import Testing

@testable import RayBridgeCore

/// `backoffLimit` and `activeDeadlineSeconds` as read from the ConfigMap, and what status.json
/// says about attempts.
@Suite struct LifecycleKeysTests {
    static let parser = ConfigMapParser(jobName: "job")
    static let base = ["resourceURL": "http://127.0.0.1:8265", "jobdata.jobScript": "print(1)"]

    static func parse(_ extra: [String: String]) -> ConfigParseResult {
        parser.parse(base.merging(extra) { $1 })
    }

    @Test func defaultsAreNoRetryAndNoDeadline() throws {
        let spec = try #require(Self.parse([:]).spec)
        #expect(spec.backoffLimit == 0)
        #expect(spec.maxAttempts == 1)
        #expect(spec.activeDeadline == nil)
    }

    @Test func thirdRoundKeysDefaultToTwentyKeptAndNoPreRunningDeadlineAndAreNoPartOfTheRevision() throws {
        let spec = try #require(Self.parse([:]).spec)
        #expect(spec.keepFinishedRuns == 20)
        #expect(spec.preRunningDeadline == nil)
        let set = try #require(Self.parse(["keepFinishedRuns": "3", "preRunningDeadlineSeconds": "10"]).spec)
        #expect(set.keepFinishedRuns == 3)
        #expect(set.preRunningDeadline == .seconds(10))
        #expect(set.revision == spec.revision, "changing them reruns nothing")
        #expect(try #require(Self.parse(["keepFinishedRuns": "All"]).spec).keepFinishedRuns == nil, "all: none deleted")
    }

    @Test func validValuesAreTaken() throws {
        let spec = try #require(Self.parse(["backoffLimit": " 3 ", "activeDeadlineSeconds": "600"]).spec)
        #expect(spec.backoffLimit == 3)
        #expect(spec.maxAttempts == 4)
        #expect(spec.activeDeadline == .seconds(600))
    }

    @Test(arguments: [
        ("backoffLimit", "-1"), ("backoffLimit", "two"), ("backoffLimit", "1.5"), ("backoffLimit", "51"),
        ("activeDeadlineSeconds", "0"), ("activeDeadlineSeconds", "-5"), ("activeDeadlineSeconds", "5s"),
        ("activeDeadlineSeconds", "31536001"), ("preRunningDeadlineSeconds", "0"), ("preRunningDeadlineSeconds", "ten"),
        ("keepFinishedRuns", "0"), ("keepFinishedRuns", "-3"), ("keepFinishedRuns", "some"),
    ])
    func badValuesAreInvalidNamingTheKey(key: String, value: String) {
        guard case .invalid(let problems, _) = Self.parse([key: value]) else {
            Issue.record("\(key)=\(value) should be invalid"); return
        }
        #expect(problems.map(\.key) == [key])
        #expect(problems.first?.description.contains("whole number") == true, "\(problems)")
    }

    /// The messages say the unit and the range, and quote what was found (at most 40 characters).
    @Test(arguments: [
        ("updateInterval", "0", "must be a whole number of seconds from 1 to 86400, found \"0\""),
        ("backoffLimit", "two", "must be a whole number of retries from 0 to 50, found \"two\""),
        ("activeDeadlineSeconds", "5s", "must be a whole number of seconds from 1 to 31536000, found \"5s\""),
        (
            "preRunningDeadlineSeconds", String(repeating: "9", count: 50),
            "must be a whole number of seconds from 1 to 31536000, found \"\(String(repeating: "9", count: 40))\""
        ),
    ])
    func badWholeNumbersSayTheUnitAndTheRange(key: String, value: String, message: String) {
        guard case .invalid(let problems, _) = Self.parse([key: value]) else {
            Issue.record("\(key)=\(value) should be invalid"); return
        }
        #expect(problems.count == 1)
        #expect(problems.first?.description.contains(message) == true, "\(problems)")
    }

    @Test func neitherKeyIsPartOfTheRevisionNorUnknown() throws {
        let plain = try #require(Self.parse([:]).spec)
        let result = Self.parse(["backoffLimit": "2", "activeDeadlineSeconds": "10"])
        #expect(result.spec?.revision == plain.revision)
        #expect(result.warnings.isEmpty, "\(result.warnings)")
    }

    @Test func statusJSONListsTheAttemptsAndTheReason() throws {
        var status = StatusSnapshot(jobStatus: .failed, message: "failed after 2 attempts", submissionId: "job-2-abcdef12")
        status.attempt = 2
        status.attempts = [.init(submissionId: "job-1-abcdef12", outcome: "RunLost"), .init(submissionId: "job-2-abcdef12", outcome: "FAILED")]
        let json = try Self.statusJSON(status)
        #expect(json["attempt"] as? Int == 2)
        #expect(json["reason"] as? String == "")
        let attempts = try #require(json["attempts"] as? [[String: String]])
        #expect(attempts == [["id": "job-1-abcdef12", "outcome": "RunLost"], ["id": "job-2-abcdef12", "outcome": "FAILED"]])
        status.reason = .deadlineExceeded
        #expect(try Self.statusJSON(status)["reason"] as? String == "DeadlineExceeded")
    }

    static func statusJSON(_ status: StatusSnapshot) throws -> [String: Any] {
        let data = try #require(StatusFiles.render(status, updatedAt: Date(timeIntervalSince1970: 0))["status.json"])
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }
}
