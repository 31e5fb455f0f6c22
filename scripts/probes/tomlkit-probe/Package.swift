// swift-tools-version:6.0
// Probe (not part of the benn build): does TOMLKit 0.6.0 give the source positions
// benn's spec errors need? Run: swift run --scratch-path .build-probe
import PackageDescription

let package = Package(
    name: "TOMLKitProbe",
    dependencies: [
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        .executableTarget(name: "TOMLKitProbe", dependencies: [.product(name: "TOMLKit", package: "TOMLKit")]),
    ]
)
