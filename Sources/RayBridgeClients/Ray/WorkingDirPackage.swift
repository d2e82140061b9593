import CSystemZlib
import Crypto
import RayBridgeCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The script as Ray's `working_dir`: a zip with `script.py` at its root, named after its
/// content so an unchanged script is uploaded once (`gcs://_ray_pkg_<hash>.zip`).
public struct WorkingDirPackage: Sendable, Equatable {
    public static let scriptName = Entrypoint.packagedScriptName

    /// `_ray_pkg_<hash>.zip`, the name under `/api/packages/gcs/`.
    public var name: String
    public var zip: Data

    public var uri: String { "gcs://\(name)" }

    public init(script: String) throws {
        let bytes = Array(script.utf8)
        // The hash covers what goes into the zip, not the zip's own bytes.
        var hasher = SHA256()
        hasher.update(data: Array("\(Self.scriptName)\0".utf8))
        hasher.update(data: bytes)
        self.name = "_ray_pkg_\(hasher.finalize().prefix(16).lowercaseHex).zip"
        guard let zip = SingleFileZip.archive(name: Self.scriptName, content: bytes) else { throw WorkingDirPackageError() }
        self.zip = Data(zip)
    }
}

public struct WorkingDirPackageError: Error, CustomStringConvertible {
    public var description: String { "could not build the working_dir zip in memory" }
}

/// A zip of one deflated file (APPNOTE 6.3.10 §4.3: local header, data, central directory, end
/// record), written here because ZIPFoundation, the zip library at hand, links full Foundation
/// and with it ICU. One entry under 4 GiB needs none of zip's optional parts (ZIP64, data
/// descriptors, extra fields); Python's `zipfile`, which Ray unpacks with, reads it.
enum SingleFileZip {
    /// 1980-01-01 00:00, zip's epoch: the same bytes for the same script, whenever it is packed.
    static let dosDate: UInt16 = (0 << 9) | (1 << 5) | 1
    static let dosTime: UInt16 = 0
    /// A regular file, rw-r--r--, in the upper half of the external attributes as Unix zips keep it.
    static let externalAttributes: UInt32 = (0o100644 as UInt32) << 16

    static func archive(name: String, content: [UInt8]) -> [UInt8]? {
        guard let compressed = rawDeflate(content), content.count < Int(UInt32.max), compressed.count < Int(UInt32.max) else { return nil }
        let crc = UInt32(content.withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) })
        let nameBytes = Array(name.utf8)
        var zip: [UInt8] = []
        func u16(_ value: UInt16) { zip += [UInt8(value & 0xFF), UInt8(value >> 8)] }
        func u32(_ value: UInt32) { for shift in stride(from: 0, to: 32, by: 8) { zip.append(UInt8((value >> UInt32(shift)) & 0xFF)) } }
        // Shared by the local header (from "version needed") and the central directory's entry.
        func entryFields() {
            u16(20)  // version needed: 2.0, deflate
            u16(0)  // flags: sizes and CRC are in the header, no data descriptor
            u16(8)  // deflate
            u16(dosTime)
            u16(dosDate)
            u32(crc)
            u32(UInt32(compressed.count))
            u32(UInt32(content.count))
            u16(UInt16(nameBytes.count))
            u16(0)  // extra field length
        }
        u32(0x0403_4B50)
        entryFields()
        zip += nameBytes
        zip += compressed
        let centralDirectoryOffset = UInt32(zip.count)
        u32(0x0201_4B50)
        u16((3 << 8) | 20)  // made by: Unix (so the attributes are a mode), zip 2.0
        entryFields()
        u16(0)  // comment length
        u16(0)  // disk number
        u16(0)  // internal attributes
        u32(externalAttributes)
        u32(0)  // the local header's offset
        zip += nameBytes
        let centralDirectorySize = UInt32(zip.count) - centralDirectoryOffset
        u32(0x0605_4B50)
        u16(0)  // this disk
        u16(0)  // the disk the central directory starts on
        u16(1)  // entries on this disk
        u16(1)  // entries
        u32(centralDirectorySize)
        u32(centralDirectoryOffset)
        u16(0)  // comment length
        return zip
    }

    /// zlib's default level 6, in one call: scripts are at most a ConfigMap's 1 MiB.
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
