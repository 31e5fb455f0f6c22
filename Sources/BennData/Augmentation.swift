import BennRandom

/// A random, per-sample change to an image made while building a training batch.
/// Augmentation is off unless a list of these is passed to `batches`.
public enum Augmentation: Sendable, Hashable {
    /// Pads the image by `padding` pixels of value 0 (-1 after scaling) on every side and
    /// takes a window of the original size at a uniformly random offset, i.e. shifts the
    /// image by a random amount in `-padding...padding` on each axis.
    case randomCrop(padding: Int)
    /// Mirrors the image left-right with probability 1/2.
    case horizontalFlip

    /// Checks the parameters of every augmentation in `list`.
    ///
    /// - Throws: `DatasetError.invalidAugmentation` for a negative crop padding.
    public static func validate(_ list: [Augmentation]) throws {
        for augmentation in list {
            if case .randomCrop(let padding) = augmentation, padding < 0 {
                throw DatasetError.invalidAugmentation("random crop padding must be 0 or more, got \(padding)")
            }
        }
    }

    /// Applies `list` in order to the `height x width x channels` image (HWC) at `source`,
    /// drawing from `rng` (a crop draws the row shift then the column shift; a flip draws one
    /// coin, always). A crop shifts whole pixels (all channels); a flip mirrors pixels, keeping
    /// each pixel's channel order. Returns either `source` (nothing changed) or a pointer into
    /// `scratch`, which must hold `2 * height * width * channels` bytes.
    static func apply(
        _ list: [Augmentation], to source: UnsafePointer<UInt8>, height: Int, width: Int, channels: Int = 1,
        scratch: UnsafeMutablePointer<UInt8>, rng: inout SeededGenerator
    ) -> UnsafePointer<UInt8> {
        let c = channels
        let rowBytes = width * c
        let n = height * rowBytes
        var current = source
        var target = scratch
        for augmentation in list {
            switch augmentation {
            case .randomCrop(let padding):
                guard padding > 0 else { continue }
                let dy = rng.nextInt(below: 2 * padding + 1) - padding
                let dx = rng.nextInt(below: 2 * padding + 1) - padding
                if dy == 0 && dx == 0 { continue }
                for y in 0..<height {
                    let sy = y + dy
                    let row = target + y * rowBytes
                    guard sy >= 0 && sy < height else {
                        row.update(repeating: 0, count: rowBytes)
                        continue
                    }
                    let sourceRow = current + sy * rowBytes
                    if c == 1 {
                        for x in 0..<width {
                            let sx = x + dx
                            row[x] = (sx >= 0 && sx < width) ? sourceRow[sx] : 0
                        }
                    } else {
                        for x in 0..<width {
                            let sx = x + dx
                            if sx >= 0 && sx < width {
                                (row + x * c).update(from: sourceRow + sx * c, count: c)
                            } else {
                                (row + x * c).update(repeating: 0, count: c)
                            }
                        }
                    }
                }
            case .horizontalFlip:
                guard rng.nextInt(below: 2) == 1 else { continue }
                for y in 0..<height {
                    let row = target + y * rowBytes
                    let sourceRow = current + y * rowBytes
                    if c == 1 {
                        for x in 0..<width { row[x] = sourceRow[width - 1 - x] }
                    } else {
                        for x in 0..<width { (row + x * c).update(from: sourceRow + (width - 1 - x) * c, count: c) }
                    }
                }
            }
            current = UnsafePointer(target)
            target = target == scratch ? scratch + n : scratch
        }
        return current
    }
}
