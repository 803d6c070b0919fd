//go:build race

package integration

// raceDetector says the tests run with the race detector, whose memory
// grows with every address the program touches and is not returned: the
// process's RSS then says little about vstreamd's own memory.
const raceDetector = true
