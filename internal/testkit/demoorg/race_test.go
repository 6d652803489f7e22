//go:build race

package demoorg

const raceEnabled = true
