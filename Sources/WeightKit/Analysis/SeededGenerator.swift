// A seeded random number generator for the synthetic experiments: SplitMix64 (Steele, Lea and
// Flood 2014) for 64-bit words, Box–Muller for Gaussians. The same seed gives the same numbers on
// every machine, which SystemRandomNumberGenerator does not.

import Foundation

/// SplitMix64: state += 0x9E3779B97F4A7C15, then a two-round xor-shift-multiply mix.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64
    /// A second Box–Muller deviate kept for the next call.
    private var spare: Double?

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in (0, 1): 53 random bits, never exactly 0.
    public mutating func uniform() -> Double {
        (Double(next() >> 11) + 0.5) / 9_007_199_254_740_992
    }

    /// A standard normal deviate (Box–Muller, both deviates used).
    public mutating func gaussian() -> Double {
        if let s = spare {
            spare = nil
            return s
        }
        let r = (-2 * Foundation.log(uniform())).squareRoot()
        let theta = 2 * Double.pi * uniform()
        spare = r * Foundation.sin(theta)
        return r * Foundation.cos(theta)
    }

    /// `count` normal deviates with standard deviation `std`, as float32.
    public mutating func gaussians(_ count: Int, std: Double) -> [Float] {
        (0..<count).map { _ in Float(gaussian() * std) }
    }

    /// `count` deviates uniform on (−bound, bound), as float32 (PyTorch's `uniform_(-bound, bound)`).
    public mutating func uniforms(_ count: Int, bound: Double) -> [Float] {
        (0..<count).map { _ in Float((2 * uniform() - 1) * bound) }
    }
}
