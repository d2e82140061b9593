import CSystemZlib
import Crypto
import RayBridgeCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The job's working directory built here: a zip with `script.py` and the `jobdata.file.*` files
/// at its root, named after its content so an unchanged job is uploaded once
/// (`gcs://_ray_pkg_<hash>.zip`).
public struct WorkingDirPackage: Sendable, Equatable {
    public static let scriptName = Entrypoint.packagedScriptName

    public let name: String
    public let zip: Data

    public var uri: String { "gcs://\(name)" }

    public init(script: String) throws(WorkingDirPackageError) {
        try self.init(script: script, files: [])
    }

    /// `script.py` first, then `files` in the order given (the parser sorts them by name).
    public init(script: String, files: [JobFile]) throws(WorkingDirPackageError) {
        let entries = [(Self.scriptName, Array(script.utf8))] + files.map { ($0.name, Array($0.content.utf8)) }
        self.name = Self.name(entries)
        guard let zip = ZipWriter.archive(entries) else { throw .notBuilt("zlib could not deflate an entry, or one is 4 GiB or more") }
        if zip.count > JobFiles.maxPackageBytes {
            throw .tooLarge(bytes: zip.count)
        }
        self.zip = Data(zip)
    }

    /// The hash covers what goes into the zip, not the zip's own bytes (which depend on the zlib
    /// that compressed them). A lone script keeps the name it had before there were other files;
    /// with files, every entry is length-prefixed, and the different first bytes ("script.py\0"
    /// against "files\0") keep the two forms apart.
    static func name(_ entries: [(String, [UInt8])]) -> String {
        var hasher = SHA256()
        if entries.count == 1, let (path, bytes) = entries.first {
            hasher.update(data: Array("\(path)\0".utf8))
            hasher.update(data: bytes)
        } else {
            hasher.update(data: Array("files\0".utf8))
            for (path, bytes) in entries {
                hasher.update(data: Array("\(path)\0\(bytes.count)\0".utf8))
                hasher.update(data: bytes)
            }
        }
        return packageName(hasher.finalize())
    }

    /// `_ray_pkg_<first 16 bytes of the digest in hex>.zip`, for built packages and zips from S3 alike.
    static func packageName(_ digest: SHA256.Digest) -> String {
        "_ray_pkg_\(digest.prefix(16).lowercaseHex).zip"
    }
}

public enum WorkingDirPackageError: Error, Sendable, Equatable, CustomStringConvertible {
    case notBuilt(String)
    case tooLarge(bytes: Int)

    public var description: String {
        switch self {
        case .notBuilt(let reason): "could not build the working_dir zip in memory: \(reason)"
        case .tooLarge(let bytes):
            "the working_dir zip of the script and its files is \(bytes) bytes, more than the \(JobFiles.maxPackageBytes) Ray accepts"
        }
    }
}

/// A zip of deflated files (APPNOTE 6.3.10 §4.3: local headers and data, the central directory,
/// the end record), written here because ZIPFoundation, the zip library at hand, links full
/// Foundation and with it ICU. Entries under 4 GiB, fewer than 65,535 of them, need none of zip's
/// optional parts (ZIP64, data descriptors, extra fields); Python's `zipfile`, which Ray unpacks
/// with, reads it. `ZipDirectory` reads zips that raybridge did not write.
enum ZipWriter {
    /// 1980-01-01 00:00, zip's epoch: the same bytes for the same files, whenever they are packed.
    static let dosDate: UInt16 = (0 << 9) | (1 << 5) | 1
    static let dosTime: UInt16 = 0
    /// A regular file, rw-r--r--, in the upper half of the external attributes as Unix zips keep it.
    static let externalAttributes: UInt32 = (0o100644 as UInt32) << 16

    static func archive(_ files: [(name: String, content: [UInt8])]) -> [UInt8]? {
        guard files.count < Int(UInt16.max) else { return nil }
        var zip: [UInt8] = []
        func u16(_ value: UInt16, into out: inout [UInt8]) { out += [UInt8(value & 0xFF), UInt8(value >> 8)] }
        func u32(_ value: UInt32, into out: inout [UInt8]) {
            for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8((value >> UInt32(shift)) & 0xFF)) }
        }
        var directory: [UInt8] = []
        for (name, content) in files {
            guard let compressed = rawDeflate(content), content.count < Int(UInt32.max), compressed.count < Int(UInt32.max),
                zip.count < Int(UInt32.max)
            else { return nil }
            let crc = UInt32(content.withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) })
            let nameBytes = Array(name.utf8)
            // Shared by the local header (from "version needed") and the central directory's entry.
            func entryFields(into out: inout [UInt8]) {
                u16(20, into: &out)  // version needed: 2.0, deflate
                u16(0, into: &out)  // flags: sizes and CRC are in the header, no data descriptor
                u16(8, into: &out)  // deflate
                u16(dosTime, into: &out)
                u16(dosDate, into: &out)
                u32(crc, into: &out)
                u32(UInt32(compressed.count), into: &out)
                u32(UInt32(content.count), into: &out)
                u16(UInt16(nameBytes.count), into: &out)
                u16(0, into: &out)  // extra field length
            }
            let localHeaderOffset = UInt32(zip.count)
            u32(0x0403_4B50, into: &zip)
            entryFields(into: &zip)
            zip += nameBytes
            zip += compressed

            u32(0x0201_4B50, into: &directory)
            u16((3 << 8) | 20, into: &directory)  // made by: Unix (so the attributes are a mode), zip 2.0
            entryFields(into: &directory)
            u16(0, into: &directory)  // comment length
            u16(0, into: &directory)  // disk number
            u16(0, into: &directory)  // internal attributes
            u32(externalAttributes, into: &directory)
            u32(localHeaderOffset, into: &directory)
            directory += nameBytes
        }
        guard zip.count + directory.count < Int(UInt32.max) else { return nil }
        let directoryOffset = UInt32(zip.count)
        zip += directory
        u32(0x0605_4B50, into: &zip)
        u16(0, into: &zip)  // this disk
        u16(0, into: &zip)  // the disk the central directory starts on
        u16(UInt16(files.count), into: &zip)  // entries on this disk
        u16(UInt16(files.count), into: &zip)  // entries
        u32(UInt32(directory.count), into: &zip)
        u32(directoryOffset, into: &zip)
        u16(0, into: &zip)  // comment length
        return zip
    }

    /// zlib's default level 6, in one call: the files are at most a ConfigMap's 1 MiB.
    static func rawDeflate(_ input: [UInt8]) -> [UInt8]? {
        var stream = z_stream()
        guard raybridge_deflate_init_raw(&stream, 6) == Z_OK else { return nil }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))))
        let status = input.withUnsafeBufferPointer { inputBuffer in
            output.withUnsafeMutableBufferPointer { outputBuffer in
                // zlib reads through a mutable pointer type but does not write the input.
                stream.next_in = UnsafeMutablePointer(mutating: inputBuffer.baseAddress)
                stream.avail_in = uInt(inputBuffer.count)
                stream.next_out = outputBuffer.baseAddress
                stream.avail_out = uInt(outputBuffer.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { return nil }
        return Array(output.prefix(Int(stream.total_out)))
    }
}
