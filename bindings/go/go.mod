module github.com/wtfperf/wtfperf/bindings/go

go 1.19
