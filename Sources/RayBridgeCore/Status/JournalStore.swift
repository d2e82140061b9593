#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The journal as a hidden file in the status directory (an emptyDir survives container
/// restarts). Written with write-to-temp, fsync, rename, so a crash leaves the old or the new one.
public struct JournalStore: Sendable {
    public static let fileName = ".raybridge-journal.json"
    /// Milliseconds: the submission time is where `activeDeadlineSeconds` counts from after a
    /// restart, and whole seconds made the deadline up to a second early.
    static let dateStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)
    public var path: String

    public init(statusDirectory: String) {
        self.path = FilePaths.join(statusDirectory, Self.fileName)
    }

    public func load() throws -> Journal? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        do {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .custom { decoder in
                let text = try decoder.singleValueContainer().decode(String.self)
                // Whole seconds: a journal written before 0.1.1.
                if let date = (try? Self.dateStyle.parse(text)) ?? (try? Date.ISO8601FormatStyle().parse(text)) { return date }
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an ISO 8601 time: \(text)"))
            }
            return try decoder.decode(Journal.self, from: data)
        } catch {
            throw JournalStoreError(path: path, reason: "unreadable journal (\(error))")
        }
    }

    public func save(_ journal: Journal) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(date.formatted(Self.dateStyle))
        }
        let data = try encoder.encode(journal)
        try DurableFile.write(data, to: path)
    }
}

public struct JournalStoreError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "\(path): \(reason)" }
}
