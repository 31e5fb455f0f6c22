import Foundation

/// Train and test IDX files of `count` 8x8 images each, the class drawn as a bright row.
func writeTinyDataset(_ dir: String, count: Int) throws {
    func idx(_ magic: UInt32, _ dims: [Int], _ payload: [UInt8]) -> Data {
        var b: [UInt8] = [0, 0, UInt8((magic >> 8) & 255), UInt8(magic & 255)]
        for d in dims { b += [UInt8(d >> 24), UInt8((d >> 16) & 255), UInt8((d >> 8) & 255), UInt8(d & 255)] }
        return Data(b + payload)
    }
    for prefix in ["train", "t10k"] {
        let labels = (0..<count).map { UInt8($0 % 10) }
        var pixels = [UInt8]()
        for l in labels { pixels += (0..<64).map { $0 / 8 == Int(l) % 8 ? 255 : 10 } }
        try idx(0x803, [count, 8, 8], pixels).write(to: URL(fileURLWithPath: "\(dir)/\(prefix)-images-idx3-ubyte"))
        try idx(0x801, [count], labels).write(to: URL(fileURLWithPath: "\(dir)/\(prefix)-labels-idx1-ubyte"))
    }
}
