#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Renders a `StatusSnapshot` as the files of the status directory.
public enum StatusFiles {
    public static func render(_ s: StatusSnapshot, updatedAt: Date) -> [String: Data] {
        let submit = s.submitTime.map(RFC3339.format) ?? ""
        let start = s.startTime.map { RFC3339.format(unixMilliseconds: $0) } ?? ""
        let end = s.endTime.map { RFC3339.format(unixMilliseconds: $0) } ?? ""
        var json: [String: JSONValue] = [
            "id": .string(s.submissionId),
            "jobStatus": .string(s.jobStatus.rawValue),
            "message": .string(s.message),
            "submitTime": .string(submit),
            "startTime": .string(start),
            "endTime": .string(end),
            "updatedAt": .string(RFC3339.format(updatedAt)),
        ]
        json["revision"] = s.revision.map(JSONValue.string) ?? .null
        json["runRevision"] = s.runRevision.map(JSONValue.string) ?? .null
        json["sequence"] = s.sequence.map { .number(String($0)) } ?? .null
        json["rayStatus"] = s.rayStatus.map(JSONValue.string) ?? .null
        json["errorType"] = s.errorType.map(JSONValue.string) ?? .null
        json["rayVersion"] = s.rayVersion.map(JSONValue.string) ?? .null
        json["driverExitCode"] = s.driverExitCode.map { .number(String($0)) } ?? .null
        json["attempt"] = s.attempt.map { .number(String($0)) } ?? .null
        json["attempts"] = .array(s.attempts.map { .object(["id": .string($0.submissionId), "outcome": .string($0.outcome)]) })
        json["reason"] = .string(s.reason?.rawValue ?? "")
        if let log = s.log {
            json["log"] = .object([
                "destination": .string(log.destination),
                "bytes": .number(String(log.bytes)),
                "parts": .number(String(log.parts)),
                "complete": .bool(log.complete),
                "resumable": .bool(log.resumable),
                "error": log.error.map(JSONValue.string) ?? .null,
                "credentialsError": log.credentialsError.map(JSONValue.string) ?? .null,
            ])
        } else {
            json["log"] = .null
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let jsonData = (try? encoder.encode(JSONValue.object(json))) ?? Data("{}".utf8)
        return [
            "id": Data(s.submissionId.utf8),
            "status.jobStatus": Data(s.jobStatus.rawValue.utf8),
            "status.message": Data(s.message.utf8),
            "status.submitTime": Data(submit.utf8),
            "status.startTime": Data(start.utf8),
            "status.endTime": Data(end.utf8),
            "status.json": jsonData + Data("\n".utf8),
        ]
    }
}

/// `2026-11-22T20:51:37Z`: UTC, second precision, unambiguous (the ray pod wrote dd/mm/YYYY).
public enum RFC3339 {
    public static func format(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(timeZone: .gmt))
    }

    public static func format(unixMilliseconds ms: Int64) -> String {
        format(Date(timeIntervalSince1970: Double(ms) / 1000))
    }
}
