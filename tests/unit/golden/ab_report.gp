# shunt ab: shunt's median over the kernel's for each metric (bars from 1), and
# every run over the kernel's median (points). Run with: gnuplot ab.gp
set terminal pngcairo size 640,560 font "sans,9" noenhanced
set output "ab.png"
set title "shunt ab: iperf3, 2 runs per side: shunt / kernel (1 = the kernel's median)"
set ylabel "shunt / kernel median (log scale)"
set logscale y
set yrange [0.1875:2]
set ytics ("0.2" 0.2, "0.5" 0.5, "1" 1, "2" 2)
set grid ytics
set key outside right top vertical
set style fill solid 0.75 border -1
set bmargin 5
set xrange [-0.6:1.6]
set arrow from -0.6,1 to 1.6,1 nohead linewidth 1.5 linecolor rgb "#404040"
set xtics ("upload: throughput\n(Mbit/s)\nhigher is better" 0, "upload: client CPU\n(s)\nlower is better" 1) scale 0
$worse << EOD
0 0.300012 0.300012 1
1 1.125 1 1.125
EOD
$kernel_runs << EOD
-0.2 0.9
-0.2 1.1
0.8 0.75
0.8 1.25
EOD
$shunt_runs << EOD
0.2 0.300012
1.2 1.125
EOD
$up_labels << EOD
1 1.125 "1.12x"
EOD
$down_labels << EOD
0 0.300012 "0.30x"
EOD
plot $worse using 1:2:($1-0.32):($1+0.32):3:4 with boxxyerror linecolor rgb "#d62728" title "shunt worse", \
     $kernel_runs using 1:2 with points pointtype 6 pointsize 0.9 linecolor rgb "#505050" title "kernel runs", \
     $shunt_runs using 1:2 with points pointtype 7 pointsize 0.7 linecolor rgb "#000000" title "shunt runs", \
     $up_labels using 1:2:3 with labels offset 0,0.8 notitle, \
     $down_labels using 1:2:3 with labels offset 0,-0.8 notitle
