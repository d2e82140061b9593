import Foundation
import Testing

@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

@Suite struct PackagePinsTests {
    let ray = URL(string: "http://127.0.0.1:8265")!
    let other = URL(string: "http://10.0.0.1:8265")!  // never contacted: a key in a dictionary

    @Test func trustsACheckForAMinuteOnlyOnTheSameCluster() {
        var pins = PackagePins()
        let t0 = ContinuousClock.now
        #expect(!pins.isPinned("_ray_pkg_a.zip", on: ray, at: t0))
        pins.record("_ray_pkg_a.zip", on: ray, sentAt: t0)
        #expect(pins.isPinned("_ray_pkg_a.zip", on: ray, at: t0 + .seconds(59)))
        #expect(!pins.isPinned("_ray_pkg_a.zip", on: ray, at: t0 + .seconds(60)))
        #expect(!pins.isPinned("_ray_pkg_b.zip", on: ray, at: t0 + .seconds(1)))
        #expect(!pins.isPinned("_ray_pkg_a.zip", on: other, at: t0 + .seconds(1)))
    }

    @Test func forgettingAClusterDropsItsPins() {
        var pins = PackagePins()
        let t0 = ContinuousClock.now
        pins.record("_ray_pkg_a.zip", on: ray, sentAt: t0)
        pins.record("_ray_pkg_a.zip", on: other, sentAt: t0)
        pins.forget(on: ray)
        #expect(!pins.isPinned("_ray_pkg_a.zip", on: ray, at: t0))
        #expect(pins.isPinned("_ray_pkg_a.zip", on: other, at: t0))
    }
}

@Suite struct PartSizeTests {
    @Test func partsStartAtTheConfiguredSizeAndDoubleEveryTwoThousandSoTenThousandHoldAbout300GiB() {
        let configuration = LogShippingConfiguration(partSize: 5 << 20)
        #expect(configuration.partSize(forPart: 1) == 5 << 20)
        #expect(configuration.partSize(forPart: 2000) == 5 << 20)
        #expect(configuration.partSize(forPart: 2001) == 10 << 20)
        #expect(configuration.partSize(forPart: 10_000) == 80 << 20)
        let total = (1...10_000).reduce(Int64(0)) { $0 + Int64(configuration.partSize(forPart: $1)) }
        #expect(total == Int64(2000) * (5 + 10 + 20 + 40 + 80) << 20)
        #expect(LogShippingConfiguration(partSize: 5 << 30).partSize(forPart: 9000) == 5 << 30)
    }
}
