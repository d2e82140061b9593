import RayBridgeCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The listing of a zip that raybridge did not write (a working directory in S3), read from the
/// archive's end the way Python's `zipfile` (Ray's unpacker) reads it: the end record, a zip64
/// end record directly before it, and the central directory directly before that. Only the end
/// is needed, so an archive of 100 MiB is checked with a ranged GET or two of its last bytes,
/// never downloaded for it. ZIPFoundation cannot do this: it reads archives whole.
struct ZipDirectory: Sendable, Equatable {
    /// The central directory's place in the archive.
    var offset: Int64
    var size: Int64

    struct Entry: Sendable, Equatable {
        var name: String
        var method: UInt16
        var encrypted: Bool
    }

    /// Enough of the end to hold the end record with the longest comment and the zip64 records.
    static let tailBytes = endRecordSize + 0xFFFF + zip64LocatorSize + zip64EndRecordSize

    static let endRecordSize = 22
    static let zip64LocatorSize = 20
    static let zip64EndRecordSize = 56
    static let entryHeaderSize = 46

    /// Where the central directory is, from `tail`: the archive's last bytes (all of them for a
    /// small archive) of `archiveSize` in all.
    static func locate(tail: Data, archiveSize: Int64) throws(ZipFormatError) -> ZipDirectory {
        let bytes = [UInt8](tail)
        let base = archiveSize - Int64(bytes.count)
        // The last signature wins, as in `zipfile._EndRecData`: a comment may contain one too.
        guard bytes.count >= endRecordSize,
            let end = stride(from: bytes.count - endRecordSize, through: max(0, bytes.count - endRecordSize - 0xFFFF), by: -1)
                .first(where: { bytes.le32($0) == 0x0605_4B50 })
        else { throw .notAZip("no end of central directory record in its last \(bytes.count) bytes") }

        var size = Int64(bytes.le32(end + 12))
        var records = end
        if end >= zip64LocatorSize + zip64EndRecordSize, bytes.le32(end - zip64LocatorSize) == 0x0706_4B50 {
            let locator = end - zip64LocatorSize
            if bytes.le32(locator + 4) != 0 || bytes.le32(locator + 16) > 1 { throw .unsupported("it spans several disks") }
            let record = locator - zip64EndRecordSize
            guard bytes.le32(record) == 0x0606_4B50 else { throw .notAZip("a zip64 locator without the zip64 end record before it") }
            guard let size64 = Int64(exactly: bytes.le64(record + 40)) else { throw .notAZip("the zip64 directory size is out of range") }
            size = size64
            records = record
        }
        // The directory ends where the end records begin; the offset the record gives is ignored
        // (data before the archive, such as a self-extractor's, moves it), as `zipfile` does.
        let offset = base + Int64(records) - size
        guard size >= 0, offset >= 0 else {
            throw .notAZip("its central directory of \(size) bytes does not fit before the end record")
        }
        return ZipDirectory(offset: offset, size: size)
    }

    /// The entries of the central directory's bytes.
    static func entries(_ directory: Data) throws(ZipFormatError) -> [Entry] {
        let bytes = [UInt8](directory)
        var entries: [Entry] = []
        var at = 0
        while at < bytes.count {
            guard at + entryHeaderSize <= bytes.count, bytes.le32(at) == 0x0201_4B50 else {
                throw .notAZip("a bad central directory entry at its byte \(at)")
            }
            let flags = bytes.le16(at + 8)
            let nameLength = Int(bytes.le16(at + 28))
            let next = at + entryHeaderSize + nameLength + Int(bytes.le16(at + 30)) + Int(bytes.le16(at + 32))
            guard next <= bytes.count else { throw .notAZip("the central directory entry at its byte \(at) is cut off") }
            // Names without the UTF-8 flag are CP437, which is ASCII for every name that matters here.
            let name = String(decoding: bytes[(at + entryHeaderSize)..<(at + entryHeaderSize + nameLength)], as: UTF8.self)
            entries.append(Entry(name: name, method: bytes.le16(at + 10), encrypted: flags & 1 != 0))
            at = next
        }
        return entries
    }

    /// Compression methods Python's `zipfile` unpacks: stored, deflate, bzip2, LZMA.
    static let unpackable: Set<UInt16> = [0, 8, 12, 14]

    /// Why Ray could not use these entries as a working directory, if it could not.
    static func workingDirProblem(_ entries: [Entry]) -> String? {
        let script = Entrypoint.packagedScriptName
        let names = entries.map { $0.name.hasPrefix("./") ? String($0.name.dropFirst(2)) : $0.name }
        if let entry = entries.first(where: \.encrypted) {
            return "has an encrypted entry (\(entry.name.prefix(200))), which Ray cannot unpack"
        }
        if let entry = entries.first(where: { !unpackable.contains($0.method) }) {
            return "compresses \(entry.name.prefix(200)) with method \(entry.method), which Python's zipfile cannot unpack "
                + "(stored, deflate, bzip2 and LZMA can be)"
        }
        if names.contains(script) { return nil }
        if let nested = names.first(where: { $0.hasSuffix("/" + script) }) {
            return "has no \(script) at its root, but \(nested.prefix(200)): zip the directory's contents, not the directory "
                + "(cd DIR && zip -r ../job.zip .)"
        }
        return "has no \(script) at its root (\(entries.count) entries): the job's working directory must hold its script as \(script)"
    }
}

/// A zip that cannot be a working directory, or no zip at all.
enum ZipFormatError: Error, Sendable, Equatable, CustomStringConvertible {
    case notAZip(String)
    case unsupported(String)

    var description: String {
        switch self {
        case .notAZip(let detail): "is not a zip archive: \(detail)"
        case .unsupported(let detail): "is a zip archive Python's zipfile cannot read: \(detail)"
        }
    }
}

extension [UInt8] {
    fileprivate func le16(_ at: Int) -> UInt16 { UInt16(self[at]) | UInt16(self[at + 1]) << 8 }
    fileprivate func le32(_ at: Int) -> UInt32 { UInt32(le16(at)) | UInt32(le16(at + 2)) << 16 }
    fileprivate func le64(_ at: Int) -> UInt64 { UInt64(le32(at)) | UInt64(le32(at + 4)) << 32 }
}
