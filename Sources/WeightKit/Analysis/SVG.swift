// A small SVG writer for the analysis plots: line charts (linear or log y axis, optional min–max
// bands, dashed reference lines, a legend) and heatmaps (one coloured, labelled cell per value, a
// colour bar). Output is one self-contained file: no scripts, no external fonts or stylesheets.

import Foundation

/// SVG text building blocks.
enum SVG {
    static func escape(_ s: String) -> String {
        var o = ""
        for ch in s {
            switch ch {
            case "&": o += "&amp;"
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "\"": o += "&quot;"
            default: o.append(ch)
            }
        }
        return o
    }

    /// A coordinate with two decimals.
    static func n(_ x: Double) -> String { String(format: "%.2f", x) }

    static func document(width: Int, height: Int, body: [String]) -> String {
        """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" \
        font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="13">
        <rect width="100%" height="100%" fill="white"/>
        \(body.joined(separator: "\n"))
        </svg>

        """
    }

    static func text(_ x: Double, _ y: Double, _ s: String, anchor: String = "middle", size: Int? = nil, weight: String? = nil,
                     fill: String = "#222", rotate: Bool = false, baseline: String? = nil) -> String {
        var a = "x=\"\(n(x))\" y=\"\(n(y))\" text-anchor=\"\(anchor)\" fill=\"\(fill)\""
        if let size { a += " font-size=\"\(size)\"" }
        if let weight { a += " font-weight=\"\(weight)\"" }
        if let baseline { a += " dominant-baseline=\"\(baseline)\"" }
        if rotate { a += " transform=\"rotate(-90 \(n(x)) \(n(y)))\"" }
        return "<text \(a)>\(escape(s))</text>"
    }

    static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String, width: Double = 1, dash: String? = nil) -> String {
        "<line x1=\"\(n(x1))\" y1=\"\(n(y1))\" x2=\"\(n(x2))\" y2=\"\(n(y2))\" stroke=\"\(stroke)\" stroke-width=\"\(n(width))\""
            + (dash.map { " stroke-dasharray=\"\($0)\"" } ?? "") + "/>"
    }

    /// Categorical colours (Tableau 10).
    static let palette = ["#4e79a7", "#e15759", "#59a14f", "#f28e2b", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7", "#9c755f", "#bab0ac"]

    /// Viridis at nine stops, interpolated linearly; t in [0, 1].
    static func viridis(_ t: Double) -> (r: Double, g: Double, b: Double) {
        let stops: [(Double, Double, Double)] = [
            (68, 1, 84), (71, 44, 122), (59, 81, 139), (44, 113, 142), (33, 144, 141), (39, 173, 129), (92, 200, 99),
            (170, 220, 50), (253, 231, 37),
        ]
        let x = min(max(t.isFinite ? t : 0, 0), 1) * Double(stops.count - 1)
        let i = min(Int(x), stops.count - 2)
        let f = x - Double(i)
        let (a, b) = (stops[i], stops[i + 1])
        return (a.0 + (b.0 - a.0) * f, a.1 + (b.1 - a.1) * f, a.2 + (b.2 - a.2) * f)
    }

    /// A diverging scale: blue (0) through white (½) to red (1), t clamped to [0, 1].
    static func blueWhiteRed(_ t: Double) -> (r: Double, g: Double, b: Double) {
        let x = min(max(t.isFinite ? t : 0.5, 0), 1)
        let (blue, white, red) = ((33.0, 102.0, 172.0), (247.0, 247.0, 247.0), (178.0, 24.0, 43.0))
        let (a, b, f) = x < 0.5 ? (blue, white, x * 2) : (white, red, (x - 0.5) * 2)
        return (a.0 + (b.0 - a.0) * f, a.1 + (b.1 - a.1) * f, a.2 + (b.2 - a.2) * f)
    }

    static func hex(_ c: (r: Double, g: Double, b: Double)) -> String {
        String(format: "#%02x%02x%02x", Int(c.r.rounded()), Int(c.g.rounded()), Int(c.b.rounded()))
    }

    /// About `count` round tick values (steps of 1, 2 or 5 × 10ᵏ) covering lo…hi.
    static func ticks(_ lo: Double, _ hi: Double, count: Int = 6) -> [Double] {
        guard hi > lo else { return [lo] }
        let raw = (hi - lo) / Double(count)
        let mag = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
        var t = [Double]()
        var v = ceil(lo / step - 1e-9) * step
        while v <= hi + step * 1e-9 {
            t.append(abs(v) < step * 1e-9 ? 0 : v)
            v += step
        }
        return t
    }

    /// Tick label: integers plainly, otherwise up to 3 significant digits; powers of ten as 1e-k.
    static func label(_ v: Double, log: Bool = false) -> String {
        if log {
            let e = log10(v)
            if abs(e - e.rounded()) < 1e-9 { return e.rounded() == 0 ? "1" : "1e\(Int(e.rounded()))" }
        }
        if v == v.rounded() && abs(v) < 1e6 { return String(Int(v)) }
        return String(format: "%.3g", v)
    }
}

/// A line chart of series over a shared x axis.
public struct LineChart: Sendable {
    public struct Series: Sendable {
        public var name: String
        public var points: [(x: Double, y: Double)]
        /// A shaded band (e.g. min…max over heads) drawn under the line.
        public var band: [(x: Double, low: Double, high: Double)]
        public init(name: String, points: [(x: Double, y: Double)], band: [(x: Double, low: Double, high: Double)] = []) {
            self.name = name
            self.points = points
            self.band = band
        }
    }

    /// A dashed horizontal reference line with a label at its right end.
    public struct Reference: Sendable {
        public var y: Double
        public var label: String
        public init(y: Double, label: String) {
            self.y = y
            self.label = label
        }
    }

    public var title: String
    public var subtitle: String
    public var xLabel: String
    public var yLabel: String
    public var logY: Bool
    public var series: [Series]
    public var references: [Reference]
    /// x values are integers (layers): ticks at whole numbers only.
    public var integerX: Bool
    /// The y range to cover instead of the data's (charts drawn side by side share one).
    public var yRange: ClosedRange<Double>?

    public init(title: String, subtitle: String = "", xLabel: String, yLabel: String, logY: Bool = false, series: [Series],
                references: [Reference] = [], integerX: Bool = true) {
        self.title = title
        self.subtitle = subtitle
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.logY = logY
        self.series = series
        self.references = references
        self.integerX = integerX
    }

    /// The chart as an SVG document.
    public func svg(width: Int = 900, height: Int = 560) -> String {
        let (left, right, top, bottom) = (80.0, 190.0, subtitle.isEmpty ? 50.0 : 66.0, 60.0)
        let pw = Double(width) - left - right
        let ph = Double(height) - top - bottom
        let xs = series.flatMap { $0.points.map(\.x) }
        var ys = series.flatMap { s in s.points.map(\.y) + s.band.flatMap { [$0.low, $0.high] } } + references.map(\.y)
        if logY { ys = ys.filter { $0 > 0 && $0.isFinite } } else { ys = ys.filter(\.isFinite) }
        var (x0, x1) = (xs.min() ?? 0, xs.max() ?? 1)
        if x1 <= x0 { x1 = x0 + 1 }
        let xTicks0 = SVG.ticks(x0, x1, count: min(12, Int(x1 - x0) + 1))
        let xPad = max(0.2, (x1 - x0) * 0.02)
        (x0, x1) = (x0 - xPad, x1 + xPad)
        var (y0, y1) = (ys.min() ?? 0, ys.max() ?? 1)
        if let yRange { (y0, y1) = (yRange.lowerBound, yRange.upperBound) }
        var yTicks: [Double]
        if logY {
            y0 = pow(10, floor(log10(y0)))
            y1 = pow(10, ceil(log10(y1)))
            if y1 <= y0 { y1 = y0 * 10 }
            let decades = Int((log10(y1) - log10(y0)).rounded())
            let stride = max(1, Int((Double(decades) / 8).rounded(.up)))
            yTicks = Swift.stride(from: 0, through: decades, by: stride).map { y0 * pow(10, Double($0)) }
            if decades <= 1 { yTicks = [1.0, 2, 5, 10].map { $0 * y0 } }
        } else {
            if y1 <= y0 { (y0, y1) = (y0 - 0.5, y1 + 0.5) }
            let pad = (y1 - y0) * 0.06
            (y0, y1) = (y0 - pad, y1 + pad)
            yTicks = SVG.ticks(y0, y1)
            y0 = min(y0, yTicks.first ?? y0)
            y1 = max(y1, yTicks.last ?? y1)
        }
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * pw }
        func py(_ y: Double) -> Double {
            let f = logY ? (log10(max(y, y0)) - log10(y0)) / (log10(y1) - log10(y0)) : (y - y0) / (y1 - y0)
            return top + ph - f * ph
        }
        var b = [String]()
        b.append(SVG.text(left + pw / 2, 28, title, size: 17, weight: "bold"))
        if !subtitle.isEmpty { b.append(SVG.text(left + pw / 2, 48, subtitle, size: 12, fill: "#555")) }
        // Grid and y ticks.
        for t in yTicks {
            let y = py(t)
            b.append(SVG.line(left, y, left + pw, y, stroke: "#e4e4e4"))
            b.append(SVG.text(left - 8, y + 4, SVG.label(t, log: logY), anchor: "end", size: 12))
        }
        // x ticks.
        var xTicks = xTicks0
        if integerX { xTicks = xTicks.filter { $0 == $0.rounded() } }
        for t in xTicks {
            let x = px(t)
            b.append(SVG.line(x, top + ph, x, top + ph + 5, stroke: "#333"))
            b.append(SVG.text(x, top + ph + 20, SVG.label(t), size: 12))
        }
        b.append("<rect x=\"\(SVG.n(left))\" y=\"\(SVG.n(top))\" width=\"\(SVG.n(pw))\" height=\"\(SVG.n(ph))\" fill=\"none\" stroke=\"#333\"/>")
        b.append(SVG.text(left + pw / 2, Double(height) - 16, xLabel, size: 14))
        b.append(SVG.text(22, top + ph / 2, yLabel, size: 14, rotate: true))
        for r in references {
            let y = py(r.y)
            b.append(SVG.line(left, y, left + pw, y, stroke: "#777", width: 1.2, dash: "6 4"))
            b.append(SVG.text(left + pw - 4, y - 5, r.label, anchor: "end", size: 11, fill: "#555"))
        }
        for (i, s) in series.enumerated() {
            let colour = SVG.palette[i % SVG.palette.count]
            if !s.band.isEmpty {
                let upper = s.band.map { "\(SVG.n(px($0.x))),\(SVG.n(py($0.high)))" }
                let lower = s.band.reversed().map { "\(SVG.n(px($0.x))),\(SVG.n(py($0.low)))" }
                b.append("<polygon points=\"\((upper + lower).joined(separator: " "))\" fill=\"\(colour)\" fill-opacity=\"0.15\" stroke=\"none\"/>")
            }
            let pts = s.points.filter { !logY || $0.y > 0 }.map { "\(SVG.n(px($0.x))),\(SVG.n(py($0.y)))" }
            b.append("<polyline points=\"\(pts.joined(separator: " "))\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2.2\"/>")
            for p in s.points where !logY || p.y > 0 {
                b.append("<circle cx=\"\(SVG.n(px(p.x)))\" cy=\"\(SVG.n(py(p.y)))\" r=\"3\" fill=\"\(colour)\"/>")
            }
        }
        // Legend to the right of the plot.
        let lx = left + pw + 16
        for (i, s) in series.enumerated() {
            let y = top + 12 + Double(i) * 22
            let colour = SVG.palette[i % SVG.palette.count]
            b.append(SVG.line(lx, y, lx + 22, y, stroke: colour, width: 3))
            b.append(SVG.text(lx + 28, y + 4, Self.shortened(s.name, to: 22), anchor: "start", size: 12))
        }
        if series.contains(where: { !$0.band.isEmpty }) {
            let y = top + 12 + Double(series.count) * 22
            b.append("<rect x=\"\(SVG.n(lx))\" y=\"\(SVG.n(y - 7))\" width=\"22\" height=\"14\" fill=\"#888\" fill-opacity=\"0.25\"/>")
            b.append(SVG.text(lx + 28, y + 4, "min…max", anchor: "start", size: 12))
        }
        return SVG.document(width: width, height: height, body: b)
    }

    /// The y values a chart draws (log charts: the positive ones), for a shared range.
    var dataY: [Double] {
        let ys = series.flatMap { s in s.points.map(\.y) + s.band.flatMap { [$0.low, $0.high] } } + references.map(\.y)
        return logY ? ys.filter { $0 > 0 && $0.isFinite } : ys.filter(\.isFinite)
    }

    /// Charts side by side in one SVG document, on one y range (each keeps its own title and legend).
    public static func sideBySide(_ charts: [LineChart], width: Int = 760, height: Int = 560) -> String {
        let ys = charts.flatMap(\.dataY)
        let range = (ys.min() ?? 0)...(ys.max() ?? 1)
        var body = [String]()
        for (i, c) in charts.enumerated() {
            var chart = c
            chart.yRange = chart.yRange ?? range
            let doc = chart.svg(width: width, height: height)
            // The chart's own document, nested at its offset: drop the XML declaration, place the <svg>.
            let inner = doc.split(separator: "\n", omittingEmptySubsequences: false).dropFirst().joined(separator: "\n")
            body.append(inner.replacingOccurrences(of: "<svg xmlns=\"http://www.w3.org/2000/svg\" ", with: "<svg x=\"\(i * width)\" y=\"0\" "))
        }
        return SVG.document(width: width * charts.count, height: height, body: body)
    }

    /// Long names (paths) keep their end.
    static func shortened(_ s: String, to n: Int) -> String { s.count <= n ? s : "…" + s.suffix(n - 1) }
}

/// A grid of coloured cells with a label in each, and a colour bar.
public struct Heatmap: Sendable {
    public var title: String
    public var subtitle: String
    public var xLabel: String
    public var yLabel: String
    /// Row labels, top to bottom.
    public var rowLabels: [String]
    public var columnLabels: [String]
    /// values[row][column], coloured on `range`.
    public var values: [[Double]]
    /// text[row][column], drawn in the cell.
    public var text: [[String]]
    public var colourLabel: String
    public var range: ClosedRange<Double>
    /// Blue–white–red around the middle of `range` (signed values) instead of viridis.
    public var diverging = false

    public init(title: String, subtitle: String = "", xLabel: String, yLabel: String, rowLabels: [String], columnLabels: [String],
                values: [[Double]], text: [[String]], colourLabel: String, range: ClosedRange<Double>, diverging: Bool = false) {
        self.diverging = diverging
        self.title = title
        self.subtitle = subtitle
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.rowLabels = rowLabels
        self.columnLabels = columnLabels
        self.values = values
        self.text = text
        self.colourLabel = colourLabel
        self.range = range
    }

    /// The heatmap as an SVG document; cells are square-ish and sized to fit within `maxWidth`.
    public func svg(maxWidth: Int = 1000) -> String {
        let rows = rowLabels.count
        let cols = columnLabels.count
        // Column labels longer than a cell is wide are drawn slanted, which needs more room below.
        let longestLabel = Double(columnLabels.map(\.count).max() ?? 0)
        let slanted = longestLabel * 6.6 > min(56.0, max(14.0, (Double(maxWidth) - max(96.0, Double(rowLabels.map(\.count).max() ?? 1) * 7.0 + 44) - 110) / Double(max(cols, 1))))
        let labelDepth = slanted ? longestLabel * 6.6 * 0.87 + 14 : 18
        // Row labels take about 7 px a character; the axis title goes left of the longest.
        let rowLabelWidth = Double(rowLabels.map(\.count).max() ?? 1) * 7.0
        let (margin, top, right, bottom) = (max(96.0, rowLabelWidth + 44), subtitle.isEmpty ? 52.0 : 68.0, 110.0, 38.0 + labelDepth)
        let cell = min(56.0, max(14.0, (Double(maxWidth) - margin - right) / Double(max(cols, 1))))
        let cellH = min(cell, 40)
        let textWidth = Double(Swift.max(title.count * 10, subtitle.count * 7)) + 40
        let width = Int(Swift.max(margin + Double(cols) * cell + right, textWidth))
        // The grid is centred when the titles are wider than it.
        let left = margin + Swift.max(0, (Double(width) - (margin + Double(cols) * cell + right)) / 2)
        let height = Int(top + Double(rows) * cellH + bottom)
        // Cell text fits its cell: about 0.62 em per character.
        let longestText = Double(text.flatMap { $0.map(\.count) }.max() ?? 1)
        let fontSize = Int(max(7, min(13, cell / 3.2, (cell - 4) / (0.62 * max(longestText, 1)))))
        var b = [String]()
        let cx = left + Double(cols) * cell / 2
        b.append(SVG.text(Double(width) / 2, 28, title, size: 17, weight: "bold"))
        if !subtitle.isEmpty { b.append(SVG.text(Double(width) / 2, 48, subtitle, size: 12, fill: "#555")) }
        let span = range.upperBound - range.lowerBound
        for r in 0..<rows {
            let y = top + Double(r) * cellH
            b.append(SVG.text(left - 8, y + cellH / 2 + 4, rowLabels[r], anchor: "end", size: 12))
            for c in 0..<cols {
                let x = left + Double(c) * cell
                let v = values[r][c]
                let t = span > 0 ? (v - range.lowerBound) / span : 0.5
                // A cell without a value (NaN) is left light grey.
                let colour = !v.isFinite ? (r: 244.0, g: 244.0, b: 244.0) : diverging ? SVG.blueWhiteRed(t) : SVG.viridis(t)
                let luminance = 0.299 * colour.r + 0.587 * colour.g + 0.114 * colour.b
                b.append("<rect x=\"\(SVG.n(x))\" y=\"\(SVG.n(y))\" width=\"\(SVG.n(cell))\" height=\"\(SVG.n(cellH))\" fill=\"\(SVG.hex(colour))\" stroke=\"white\" stroke-width=\"1\"/>")
                b.append(SVG.text(x + cell / 2, y + cellH / 2 + Double(fontSize) / 3, text[r][c], size: fontSize, fill: luminance > 140 ? "#111" : "#fff"))
            }
        }
        let gridBottom = top + Double(rows) * cellH
        let step = slanted ? 1 : max(1, Int((Double(cols) / (Double(cols) * cell / 40)).rounded(.up)))
        for c in Swift.stride(from: 0, to: cols, by: step) {
            let x = left + (Double(c) + 0.5) * cell
            if slanted {
                b.append("<text x=\"\(SVG.n(x))\" y=\"\(SVG.n(gridBottom + 12))\" text-anchor=\"end\" fill=\"#222\" font-size=\"11\" "
                    + "transform=\"rotate(-60 \(SVG.n(x)) \(SVG.n(gridBottom + 12)))\">\(SVG.escape(columnLabels[c]))</text>")
            } else {
                b.append(SVG.text(x, gridBottom + 18, columnLabels[c], size: 11))
            }
        }
        b.append(SVG.text(cx, gridBottom + labelDepth + 24, xLabel, size: 14))
        b.append(SVG.text(left - max(60, rowLabelWidth + 24), top + Double(rows) * cellH / 2, yLabel, size: 14, rotate: true))
        // Colour bar.
        let bx = left + Double(cols) * cell + 24
        let bh = max(80, Double(rows) * cellH)
        let steps = 32
        for i in 0..<steps {
            let f = Double(i) / Double(steps)
            let y = top + bh * (1 - f - 1 / Double(steps))
            let c = diverging ? SVG.blueWhiteRed(f + 0.5 / Double(steps)) : SVG.viridis(f + 0.5 / Double(steps))
            b.append("<rect x=\"\(SVG.n(bx))\" y=\"\(SVG.n(y))\" width=\"16\" height=\"\(SVG.n(bh / Double(steps) + 0.5))\" fill=\"\(SVG.hex(c))\"/>")
        }
        b.append("<rect x=\"\(SVG.n(bx))\" y=\"\(SVG.n(top))\" width=\"16\" height=\"\(SVG.n(bh))\" fill=\"none\" stroke=\"#333\"/>")
        for t in SVG.ticks(range.lowerBound, range.upperBound, count: 4) {
            let y = top + bh * (1 - (t - range.lowerBound) / max(span, 1e-300))
            b.append(SVG.line(bx + 16, y, bx + 20, y, stroke: "#333"))
            b.append(SVG.text(bx + 23, y + 4, SVG.label(t), anchor: "start", size: 11))
        }
        b.append(SVG.text(bx + 8, top + bh + 18, colourLabel, size: 11))
        return SVG.document(width: width, height: max(height, Int(top + bh + bottom)), body: b)
    }
}
