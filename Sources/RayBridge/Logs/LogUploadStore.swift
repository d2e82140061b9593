import Foundation
import RayBridgeClients
import RayBridgeCore

/// One hidden file per run in the status directory: `.raybridge-log-<submission id>.json`.
/// Separate from the journal because the shipper writes it at its own pace, after every part.
public struct LogUploadStore: Sendable {
    public var directory: String

    public init(directory: String) {
        self.directory = directory
    }

    public func path(for submissionId: String) -> String {
        (directory as NSString).appendingPathComponent(".raybridge-log-\(submissionId).json")
    }

    public func load(_ submissionId: String) -> LogUploadState? {
        guard let data = FileManager.default.contents(atPath: path(for: submissionId)) else { return nil }
        return try? JSONDecoder().decode(LogUploadState.self, from: data)
    }

    public func save(_ state: LogUploadState) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try DurableFile.write(try encoder.encode(state), to: path(for: state.submissionId))
    }
}
