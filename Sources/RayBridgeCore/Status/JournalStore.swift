import Foundation

/// The journal as a hidden file in the status directory (an emptyDir survives container
/// restarts). Written with write-to-temp, fsync, rename, so a crash leaves the old or the new one.
public struct JournalStore: Sendable {
    public static let fileName = ".raybridge-journal.json"
    public var path: String

    public init(statusDirectory: String) {
        self.path = (statusDirectory as NSString).appendingPathComponent(Self.fileName)
    }

    public func load() throws -> Journal? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        do {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            return try decoder.decode(Journal.self, from: data)
        } catch {
            throw JournalStoreError(path: path, reason: "unreadable journal (\(error))")
        }
    }

    public func save(_ journal: Journal) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        let data = try encoder.encode(journal)
        try DurableFile.write(data, to: path)
    }
}

public struct JournalStoreError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "\(path): \(reason)" }
}
