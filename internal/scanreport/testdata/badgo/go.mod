module example.test/badgo

go 1.22
