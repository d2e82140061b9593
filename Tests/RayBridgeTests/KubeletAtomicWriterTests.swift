import Foundation
import RayBridgeTestKit
import Testing

/// The test kit's kubelet must leave the layout the kubelet leaves (the team's reference on
/// atomic_writer.go), or the watch tests would prove nothing: checked here without raybridge.
@Suite struct KubeletAtomicWriterTests {
    private let files = FileManager.default

    private func entries(_ directory: String) throws -> [String] {
        try files.contentsOfDirectory(atPath: directory).sorted()
    }

    @Test func anUpdateLeavesTheKubeletsLayout() throws {
        let temp = try WatchTestDirectory()
        defer { temp.remove() }
        let volume = temp.sub("volume")
        let kubelet = KubeletAtomicWriter(directory: volume)

        #expect(try kubelet.write(["a": "1", "b": "2"]))
        let first = try files.destinationOfSymbolicLink(atPath: volume + "/..data")
        #expect(first.wholeMatch(of: /\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\.\d+/) != nil, "\(first)")
        #expect(try entries(volume) == [first, "..data", "a", "b"])

        #expect(try kubelet.write(["a": "11", "c": "3"]))
        let second = try files.destinationOfSymbolicLink(atPath: volume + "/..data")
        #expect(second != first)
        #expect(try entries(volume) == [second, "..data", "a", "c"], "b's link and the old generation are gone")
        #expect(try files.destinationOfSymbolicLink(atPath: volume + "/c") == "..data/c")
        #expect(try String(contentsOfFile: volume + "/a", encoding: .utf8) == "11")
        let mode = { (path: String) in try (self.files.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? 0 }
        #expect(try mode(volume + "/" + second) == 0o755)
        #expect(try mode(volume + "/" + second + "/a") == 0o644)
    }

    @Test func theSameContentAgainWritesNothing() throws {
        let temp = try WatchTestDirectory()
        defer { temp.remove() }
        let kubelet = KubeletAtomicWriter(directory: temp.path)
        #expect(try kubelet.write(["a": "1"]))
        let generation = try files.destinationOfSymbolicLink(atPath: temp.sub("..data"))
        #expect(try kubelet.write(["a": "1"]) == false)
        #expect(try files.destinationOfSymbolicLink(atPath: temp.sub("..data")) == generation)
    }
}
