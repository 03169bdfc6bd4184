// WeightKit
